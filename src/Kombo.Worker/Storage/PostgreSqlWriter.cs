using System.Data;
using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kombo.Worker.Storage;

/// <summary>
/// Writes to PostgreSQL, each in its own READ COMMITTED transaction: concurrent commits share the server's WAL
/// flushes, and the unique keys (inbox, redemptions) decide races between instances. The stores' Dapper calls are
/// synchronous, so the writes run on <see cref="StorageOptions.WriterConnections"/> threads of their own, each with
/// its own connection, instead of blocking the thread pool the consumers run on.
/// </summary>
internal sealed class PostgreSqlWriter : IDatabaseWriter, IAsyncDisposable
{
    private readonly Channel<Write> _queue = Channel.CreateUnbounded<Write>();
    private readonly PostgreSqlDatabase _database;
    private readonly Task[] _loops;
    private readonly TaskCompletionSource<Exception> _stoppedAbnormally = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PostgreSqlWriter(PostgreSqlDatabase database, IOptions<StorageOptions> options)
    {
        _database = database;
        _loops = Enumerable.Range(0, options.Value.WriterConnections)
            .Select(_ => Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
    }

    public event Action<int>? Committed;

    public Task<Exception> StoppedAbnormally => _stoppedAbnormally.Task;

    public Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken = default, Action<T>? committed = null)
    {
        var write = new Write<T>(work, committed, cancellationToken);
        if (!_queue.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(PostgreSqlWriter), "The database writer has stopped.");
        }

        return write.Completion.Task;
    }

    // PostgreSQL needs no checkpoint from its clients.
    public Task CheckpointAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }

    private void Run()
    {
        NpgsqlConnection? connection = null;
        try
        {
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (_queue.Reader.TryRead(out var write))
                {
                    if (write.IsCancelled)
                    {
                        continue;
                    }

                    try
                    {
                        connection ??= _database.DataSource.OpenConnection();
                        using (var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted))
                        {
                            write.Execute(connection, transaction);
                            transaction.Commit();
                        }

                        try
                        {
                            write.AfterCommit();
                            Committed?.Invoke(1);
                        }
                        finally
                        {
                            write.Complete();
                        }
                    }
                    catch (Exception ex)
                    {
                        // A broken connection is not handed back: the next write opens a fresh one.
                        if (connection is { State: not ConnectionState.Open } or { FullState: ConnectionState.Broken })
                        {
                            connection.Dispose();
                            connection = null;
                        }

                        write.Fail(ex);
                    }
                }
            }
        }
        catch (Exception ex)
        {
            _stoppedAbnormally.TrySetResult(ex);
            _queue.Writer.TryComplete();
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private abstract class Write
    {
        public abstract bool IsCancelled { get; }

        public abstract void Execute(DbConnection connection, DbTransaction transaction);

        public abstract void AfterCommit();

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private sealed class Write<T>(
        Func<DbConnection, DbTransaction, T> work, Action<T>? committed, CancellationToken cancellationToken) : Write
    {
        private T? _result;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool IsCancelled => cancellationToken.IsCancellationRequested && Completion.TrySetCanceled(cancellationToken);

        public override void Execute(DbConnection connection, DbTransaction transaction) => _result = work(connection, transaction);

        public override void AfterCommit() => committed?.Invoke(_result!);

        public override void Complete() => Completion.TrySetResult(_result!);

        public override void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
