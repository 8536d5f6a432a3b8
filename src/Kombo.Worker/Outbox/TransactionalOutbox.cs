using System.Data.Common;
using System.Diagnostics;
using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Commits a handled command: its inbox row, its business rows and its outgoing messages in ONE transaction, so an
/// event exists if and only if its work was committed. The returned task completes once that commit is durable;
/// only then may the command be acknowledged.
/// </summary>
internal sealed class TransactionalOutbox(
    IDatabaseWriter writer,
    RelayQueue relayQueue,
    TimeProvider time,
    WorkerMetrics metrics,
    IOptions<OutboxOptions> options,
    IOptions<OpenTelemetryOptions> telemetry,
    IBus bus)
{
    private readonly bool _bypassForBenchmark = options.Value.BypassForBenchmark;
    private readonly bool _forwardBaggage = telemetry.Value.ForwardBaggage;

    /// <summary>Commits a command whose only effect is its answer (a failure, or a repeat of an earlier success).</summary>
    /// <returns>False when the inbox already held the command (nothing was written).</returns>
    public Task<bool> AnswerAsync(
        ConsumeContext context, InboxEntry entry, object answer, string? orderingKey, Guid? eventId = null) =>
        CommitAsync(entry, (_, _, _) =>
            OutgoingMessage.Answer(context, entry.MessageId, entry.CorrelationId, answer, orderingKey, eventId),
            context.CancellationToken);

    /// <returns>False when the inbox already held the command (nothing was written).</returns>
    public async Task<bool> CommitAsync(
        InboxEntry entry,
        Func<DbConnection, DbTransaction, DateTimeOffset, IReadOnlyList<OutgoingMessage>> work,
        CancellationToken cancellationToken) =>
        await CommitAsync(entry, work, outgoing => outgoing, cancellationToken) is not null;

    /// <summary>The same, for work that decides more than its messages: what it returns, with them in it.</summary>
    /// <returns>What the work returned, or null when the inbox already held the command (nothing was written).</returns>
    public async Task<T?> CommitAsync<T>(
        InboxEntry entry,
        Func<DbConnection, DbTransaction, DateTimeOffset, T> work,
        Func<T, IReadOnlyList<OutgoingMessage>> outgoingOf,
        CancellationToken cancellationToken)
        where T : class
    {
        IReadOnlyList<OutgoingMessage> outgoing = [];
        IReadOnlyList<PendingMessage> rows = [];
        // Captured here, on the command's own flow: the work below runs on the writer's thread.
        var trace = Activity.Current;
        var committedAt = DateTimeOffset.MinValue;
        var result = await writer.WriteAsync((connection, transaction) =>
        {
            var now = time.GetUtcNow();
            if (!InboxStore.TryRecord(connection, transaction, entry, now))
            {
                return null;
            }

            var decided = work(connection, transaction, now);
            outgoing = OutboxTrace.Stamp(outgoingOf(decided), trace, _forwardBaggage);
            committedAt = now;
            if (!_bypassForBenchmark)
            {
                rows = OutboxStore.Append(connection, transaction, outgoing, now);
            }

            return decided;
        }, cancellationToken, committed: _ =>
        {
            if (rows.Count > 0)
            {
                relayQueue.Add(rows);
            }
        });

        if (result is not null)
        {
            if (_bypassForBenchmark)
            {
                // Benchmark only (OutboxOptions.BypassForBenchmark): published after the commit, before the ack.
                foreach (var message in outgoing)
                {
                    await OutboxPublishing.PublishAsync(bus, OutboxPublishing.AsRow(message, committedAt), cancellationToken);
                }
            }

            metrics.CommandHandled(entry.Consumer, entry.Outcome);
        }

        return result;
    }
}
