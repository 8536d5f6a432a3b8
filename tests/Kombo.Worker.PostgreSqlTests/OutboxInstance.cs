using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>
/// What one worker instance runs of the outbox on a shared database, without a bus: its writer, its partitions (and
/// their wake-ups) and a relay queue reading only what it owns. The queue never polls; only a sweep at start, a change
/// of partitions or a wake-up makes it read the table.
/// </summary>
internal sealed class OutboxInstance : IAsyncDisposable
{
    private readonly PostgreSqlDatabase _database;
    private readonly PostgreSqlWriter _writer;
    private readonly PostgreSqlOutboxWakeups _wakeups;
    private bool _stopped;

    private OutboxInstance(string connectionString)
    {
        var storage = Options.Create(new StorageOptions { Provider = StorageOptions.PostgreSql, ConnectionString = connectionString, WriterConnections = 2 });
        _database = new PostgreSqlDatabase(storage);
        _writer = new PostgreSqlWriter(_database, storage);
        _wakeups = new PostgreSqlOutboxWakeups(_database, NullLogger<PostgreSqlOutboxWakeups>.Instance);
        Partitions = new PostgreSqlOutboxPartitions(storage, _wakeups, TimeProvider.System, NullLogger<PostgreSqlOutboxPartitions>.Instance);
        Queue = new RelayQueue(_database, _writer, Partitions, new OutboxSignal(),
            Options.Create(new OutboxOptions { PollInterval = TimeSpan.FromHours(1) }), TimeProvider.System, NullLogger<RelayQueue>.Instance);
        Partitions.Changed += Queue.PartitionsChanged;
    }

    public PostgreSqlOutboxPartitions Partitions { get; }

    public RelayQueue Queue { get; }

    public IReadOnlyList<int> Owned => Partitions.Owned ?? throw new InvalidOperationException("A shared database's instance owns a share, never all.");

    public static async Task<OutboxInstance> StartAsync(string connectionString)
    {
        var instance = new OutboxInstance(connectionString);
        await instance._wakeups.StartAsync(CancellationToken.None);
        await instance.Partitions.StartAsync(CancellationToken.None);
        return instance;
    }

    /// <summary>Commits the rows and hands them to this instance's queue, as <see cref="TransactionalOutbox"/> does.</summary>
    public Task<IReadOnlyList<PendingMessage>> CommitAsync(params OutgoingMessage[] messages) =>
        _writer.WriteAsync(
            (connection, transaction) => OutboxStore.Append(connection, transaction, messages, TimeProvider.System.GetUtcNow()),
            committed: Queue.Add);

    /// <summary>Stops as a process that dies does, as far as the others can tell: its session ends and its heartbeat stops.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await Partitions.StopAsync(CancellationToken.None);
        await _wakeups.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Partitions.Dispose();
        _wakeups.Dispose();
        await _writer.DisposeAsync();
        await _database.DisposeAsync();
    }
}
