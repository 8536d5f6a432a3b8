using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Storage;

/// <summary>
/// The only writer to the database. Writes queue here and run one after another on one connection, so SQLite never
/// answers "database is locked"; writes that queue up meanwhile share one <c>BEGIN IMMEDIATE … COMMIT</c> (group
/// commit: one fsync for many commands). Each write runs in its own savepoint, so one failing write does not undo the
/// others, and its task completes only once the commit holding it is durable.
/// </summary>
internal sealed class SqliteWriter : IDatabaseWriter, IAsyncDisposable
{
    private readonly Channel<IWrite> _queue = Channel.CreateUnbounded<IWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteDatabase _database;
    private readonly int _maxWritesPerCommit;
    private readonly Task _loop;
    private readonly TaskCompletionSource<Exception> _stoppedAbnormally = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SqliteWriter(SqliteDatabase database, IOptions<StorageOptions> options)
    {
        _database = database;
        _maxWritesPerCommit = options.Value.MaxWritesPerCommit;
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// Raised on the writer thread after each successful commit, with the number of writes it held, before the
    /// writes' tasks complete.
    /// </summary>
    public event Action<int>? Committed;

    /// <summary>Completes, with the cause, if the writer's loop ever ends other than through <see cref="DisposeAsync"/>.</summary>
    public Task<Exception> StoppedAbnormally => _stoppedAbnormally.Task;

    /// <param name="committed">
    /// Runs on the writer thread once the commit holding this write is durable, in commit order across writes, before
    /// any write's task completes.
    /// </param>
    public Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken = default, Action<T>? committed = null)
    {
        var write = new Write<T>(work, committed, cancellationToken);
        Enqueue(write);
        return write.Completion.Task;
    }

    /// <summary>
    /// Copies the WAL back into the database file between two commits. PASSIVE never waits for readers, so the
    /// consumers are not held up.
    /// </summary>
    public Task CheckpointAsync(CancellationToken cancellationToken = default)
    {
        var checkpoint = new Checkpoint(cancellationToken);
        Enqueue(checkpoint);
        return checkpoint.Completion.Task;
    }

    /// <summary>Test seam: ends the writer's loop the way an unexpected exception escaping it would.</summary>
    internal void BreakLoopForTesting(Exception cause) => Enqueue(new Breaker(cause));

    private void Enqueue(IWrite write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            throw Stopped();
        }
    }

    // An IOException, so the commands' storage retry keeps them unacknowledged until the worker restarts.
    private Exception Stopped() => _stoppedAbnormally.Task.IsCompleted
        ? new DatabaseWriterStoppedException(_stoppedAbnormally.Task.Result)
        : new ObjectDisposedException(nameof(SqliteWriter), "The database writer has stopped.");

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    private void Run()
    {
        var batch = new List<IWrite>(_maxWritesPerCommit);
        SqliteConnection? connection = null;
        Exception? abnormal = null;
        try
        {
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                Checkpoint? checkpoint = null;
                while (batch.Count < _maxWritesPerCommit && _queue.Reader.TryRead(out var write))
                {
                    if (write is Breaker breaker)
                    {
                        throw breaker.Cause;
                    }

                    if (write is Checkpoint standalone)
                    {
                        checkpoint = standalone;
                        break;
                    }

                    if (!write.IsCancelled)
                    {
                        batch.Add(write);
                    }
                }

                try
                {
                    connection ??= _database.Open();
                    if (batch.Count > 0)
                    {
                        Commit(connection, batch);
                    }

                    checkpoint?.Run(connection);
                }
                catch (Exception ex)
                {
                    // The connection may be in an unknown state (disk full, file gone): start afresh next time, on a
                    // new native handle rather than the same one back from the pool.
                    if (connection is not null)
                    {
                        SqliteConnection.ClearPool(connection);
                        connection.Dispose();
                    }

                    connection = null;
                    foreach (var write in batch)
                    {
                        write.Fail(ex);
                    }

                    checkpoint?.Fail(ex);
                }
            }
        }
        catch (Exception ex)
        {
            abnormal = ex;
        }
        finally
        {
            // Closed before anything is failed: a write queued from now on fails at once instead of waiting forever.
            if (abnormal is not null)
            {
                _stoppedAbnormally.TrySetResult(abnormal);
            }

            _queue.Writer.TryComplete();
            foreach (var write in batch)
            {
                write.Fail(Stopped());
            }

            while (_queue.Reader.TryRead(out var write))
            {
                write.Fail(Stopped());
            }

            connection?.Dispose();
        }
    }

    private void Commit(SqliteConnection connection, List<IWrite> batch)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        var done = 0;
        foreach (var write in batch)
        {
            transaction.Save("write");
            try
            {
                write.Execute(connection, transaction);
                transaction.Release("write");
                done++;
            }
            catch (Exception ex) when (ex is not SqliteException { SqliteErrorCode: SqliteErrorCodes.Full or SqliteErrorCodes.IoError })
            {
                // Some errors (SQLITE_BUSY, SQLITE_NOMEM) roll back the whole transaction: every write in it is lost,
                // so all of them fail with this write's own, retryable, error instead of the savepoint's.
                if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0)
                {
                    throw;
                }

                transaction.Rollback("write");
                transaction.Release("write");
                write.Fail(ex);
            }
        }

        transaction.Commit();

        try
        {
            // Before the writers' continuations are queued, so the outbox relay hears of new rows first.
            foreach (var write in batch)
            {
                write.AfterCommit();
            }

            Committed?.Invoke(done);
        }
        finally
        {
            // Committed is committed, whatever a listener does.
            foreach (var write in batch)
            {
                write.Complete();
            }
        }
    }


    private interface IWrite
    {
        bool IsCancelled { get; }

        void Execute(SqliteConnection connection, SqliteTransaction transaction);

        void AfterCommit();

        void Complete();

        void Fail(Exception exception);
    }

    private sealed class Breaker(Exception cause) : IWrite
    {
        public Exception Cause => cause;

        public bool IsCancelled => false;

        public void Execute(SqliteConnection connection, SqliteTransaction transaction)
        {
        }

        public void AfterCommit()
        {
        }

        public void Complete()
        {
        }

        public void Fail(Exception exception)
        {
        }
    }

    private sealed class Checkpoint(CancellationToken cancellationToken) : IWrite
    {
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsCancelled => cancellationToken.IsCancellationRequested && Completion.TrySetCanceled(cancellationToken);

        public void Run(SqliteConnection connection)
        {
            if (IsCancelled)
            {
                return;
            }

            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            command.ExecuteNonQuery();
            Completion.TrySetResult();
        }

        public void Execute(SqliteConnection connection, SqliteTransaction transaction) => Run(connection);

        public void AfterCommit()
        {
        }

        public void Complete()
        {
        }

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }

    private sealed class Write<T>(
        Func<DbConnection, DbTransaction, T> work, Action<T>? committed, CancellationToken cancellationToken) : IWrite
    {
        private T? _result;
        private bool _executed;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsCancelled
        {
            get
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                Completion.TrySetCanceled(cancellationToken);
                return true;
            }
        }

        public void Execute(SqliteConnection connection, SqliteTransaction transaction)
        {
            _result = work(connection, transaction);
            _executed = true;
        }

        public void AfterCommit()
        {
            if (_executed)
            {
                committed?.Invoke(_result!);
            }
        }

        public void Complete()
        {
            if (_executed)
            {
                Completion.TrySetResult(_result!);
            }
        }

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
