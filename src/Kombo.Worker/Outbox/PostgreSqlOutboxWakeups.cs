using System.Threading.Channels;
using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Tells the other instances that rows were committed in partitions they own (<c>NOTIFY</c> on the deployment's own
/// channel, <see cref="OutboxLockKeys"/>), so they publish them at once rather than at their next poll. Sent after the
/// command's commit and outside its transaction: a NOTIFY inside it would take PostgreSQL's cluster-wide notify lock in
/// every command's commit. At most one is in flight; partitions named meanwhile go in the next one, and a lost one
/// costs only the poll interval.
/// </summary>
internal sealed partial class PostgreSqlOutboxWakeups(PostgreSqlDatabase database, ILogger<PostgreSqlOutboxWakeups> logger)
    : BackgroundService
{
    private readonly Channel<int> _partitions = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true });

    public void Wake(int partition) => _partitions.Writer.TryWrite(partition);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = new SortedSet<int>();
        OutboxLockKeys? keys = null;
        try
        {
            while (await _partitions.Reader.WaitToReadAsync(stoppingToken))
            {
                while (_partitions.Reader.TryRead(out var partition))
                {
                    pending.Add(partition);
                }

                try
                {
                    await using var connection = await database.DataSource.OpenConnectionAsync(stoppingToken);
                    keys ??= await OutboxLockKeys.ReadAsync(connection, stoppingToken);
                    await connection.ExecuteAsync(new CommandDefinition(
                        "SELECT pg_notify(@Channel, @Payload)",
                        new { keys.Channel, Payload = string.Join(',', pending) }, cancellationToken: stoppingToken));
                    pending.Clear();
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // The owners' poll publishes the rows anyway.
                    pending.Clear();
                    LogNotifyFailed(ex.GetType().Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not wake the owners of new outbox rows ({ErrorType}: {Error}); their poll will find them")]
    private partial void LogNotifyFailed(string errorType, string error);
}
