using System.Text.Json;
using MassTransit;
using Kombo.Worker.Storage;
using Kombo.Worker.Telemetry;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Publishes committed outbox rows with publisher confirms, in commit order per end user, on parallel lanes, and marks
/// each round sent in one transaction. A row is "sent" only once the broker confirmed it, so delivery is at least once; the stored
/// message id lets subscribers drop the duplicates that a crash between confirm and mark can cause.
/// </summary>
public sealed partial class OutboxRelay(
    IBus bus,
    SqliteDatabase database,
    SqliteWriter writer,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    WorkerMetrics metrics,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly OutboxOptions _options = options.Value;
    private TimeSpan _outageDelay = TimeSpan.Zero;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            int handled;
            try
            {
                handled = await RelayOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogRelayRoundFailed(ex);
                handled = 0;
            }

            if (handled == _options.BatchSize && _outageDelay == TimeSpan.Zero)
            {
                continue;
            }

            try
            {
                var wait = _outageDelay > TimeSpan.Zero ? _outageDelay : _options.PollInterval;
                if (_outageDelay > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stoppingToken);
                }
                else
                {
                    await signal.WaitAsync(wait, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <returns>How many rows this round tried to publish.</returns>
    internal async Task<int> RelayOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<PendingMessage> rows;
        using (var connection = database.Open())
        {
            rows = OutboxStore.ReadDue(connection, time.GetUtcNow(), _options.BatchSize);
        }

        if (rows.Count == 0)
        {
            return 0;
        }

        // MassTransit does not keep the order in which concurrent publishes start, so order comes from lanes: the
        // rows of one end user always share a lane, and a lane publishes one row after the broker confirmed the
        // one before. With one lane the broker sees every row in commit order.
        var publishes = new Task[rows.Count];
        var lanes = new Task?[_options.PublishLanes];
        for (var i = 0; i < rows.Count; i++)
        {
            var lane = LaneOf(rows[i]);
            publishes[i] = lanes[lane] = PublishAfterAsync(lanes[lane], rows[i], cancellationToken);
        }

        try
        {
            await Task.WhenAll(publishes);
        }
        catch
        {
            // Each task's own exception is read below.
        }

        cancellationToken.ThrowIfCancellationRequested();
        var now = time.GetUtcNow();
        var sent = new List<long>(rows.Count);
        var failures = new List<PublishFailure>();
        var anySucceeded = publishes.Any(p => p.IsCompletedSuccessfully);
        for (var i = 0; i < rows.Count; i++)
        {
            if (publishes[i].IsCompletedSuccessfully)
            {
                sent.Add(rows[i].Sequence);
                metrics.Published((now - UnixTime.FromMs(rows[i].CreatedAt)).TotalMilliseconds);
            }
            else if (publishes[i].Exception?.GetBaseException() is not HeldBackException)
            {
                metrics.PublishFailed();
                failures.Add(Failure(rows[i], publishes[i].Exception?.GetBaseException(), anySucceeded, now));
            }
        }

        await writer.WriteAsync((connection, transaction) =>
        {
            OutboxStore.MarkSent(connection, transaction, sent, now);
            OutboxStore.RecordFailures(connection, transaction, failures, now);
            return true;
        }, CancellationToken.None);

        _outageDelay = anySucceeded || failures.Count == 0
            ? TimeSpan.Zero
            : TimeSpan.FromTicks(Math.Clamp(_outageDelay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks, _options.RetryMaxDelay.Ticks));

        foreach (var parked in failures.Where(f => f.Park))
        {
            var row = rows.First(r => r.Sequence == parked.Sequence);
            metrics.Parked();
            LogParked(row.MessageId, row.MessageType, row.Attempts + 1, parked.Error);
        }

        return rows.Count;
    }

    private PublishFailure Failure(PendingMessage row, Exception? exception, bool brokerReachable, DateTimeOffset now)
    {
        var attempts = row.Attempts + 1;
        var backoff = TimeSpan.FromTicks(Math.Min(
            _options.RetryBaseDelay.Ticks * (1L << Math.Min(attempts - 1, 30)),
            _options.RetryMaxDelay.Ticks));

        // When nothing at all got through, the broker is the problem, not this row: such rounds never park a row,
        // so a long broker outage leaves every row pending until it returns.
        var rowSpecific = exception is UnpublishableMessageException || brokerReachable;
        var error = exception is null ? "unknown error" : $"{exception.GetType().Name}: {exception.Message}";
        return new PublishFailure(row.Sequence, error, now + backoff, Park: rowSpecific && attempts >= _options.MaxAttempts);
    }

    private async Task PublishAsync(PendingMessage row, CancellationToken cancellationToken)
    {
        var (message, type) = Materialize(row);
        var pipe = Pipe.Execute<SendContext>(context => Stamp(context, row));
        if (row.Destination is null)
        {
            await bus.Publish(message, type, pipe, cancellationToken);
            return;
        }

        var endpoint = await bus.GetSendEndpoint(new Uri(row.Destination));
        await endpoint.Send(message, type, pipe, cancellationToken);
    }

    private int LaneOf(PendingMessage row) =>
        (int)((uint)StringComparer.Ordinal.GetHashCode(row.OrderingKey ?? row.CorrelationId) % (uint)_options.PublishLanes);

    private async Task PublishAfterAsync(Task? previous, PendingMessage row, CancellationToken cancellationToken)
    {
        if (previous is not null)
        {
            try
            {
                await previous;
            }
            catch (Exception ex)
            {
                throw new HeldBackException(ex);
            }
        }

        await PublishAsync(row, cancellationToken);
    }

    private static (object Message, Type Type) Materialize(PendingMessage row)
    {
        if (!OutboxMessageTypes.TryResolve(row.MessageType, out var type))
        {
            throw new UnpublishableMessageException($"Unknown message type '{row.MessageType}'.");
        }

        try
        {
            return (OutboxMessageTypes.Deserialize(row.Body, type), type);
        }
        catch (JsonException ex)
        {
            throw new UnpublishableMessageException($"The stored {row.MessageType} body is not valid: {ex.Message}");
        }
    }

    private static void Stamp(SendContext context, PendingMessage row)
    {
        context.MessageId = Guid.Parse(row.MessageId);
        context.CorrelationId = Guid.Parse(row.CorrelationId);
        context.ConversationId = ParseOrNull(row.ConversationId);
        context.InitiatorId = ParseOrNull(row.InitiatorId);
        context.RequestId = ParseOrNull(row.RequestId);
        context.Durable = true;
    }

    private static Guid? ParseOrNull(string? value) => value is null ? null : Guid.Parse(value);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {MessageId} ({MessageType}) parked after {Attempts} attempts: {Error}")]
    private partial void LogParked(string messageId, string messageType, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An outbox relay round failed; retrying")]
    private partial void LogRelayRoundFailed(Exception exception);
}

/// <summary>Not attempted this round because an earlier row in its lane failed; costs no attempt.</summary>
internal sealed class HeldBackException(Exception cause) : Exception("An earlier message of the same end user failed.", cause);

/// <summary>A stored row that can never be published as it is (unknown type, corrupt body).</summary>
public sealed class UnpublishableMessageException(string message) : Exception(message);
