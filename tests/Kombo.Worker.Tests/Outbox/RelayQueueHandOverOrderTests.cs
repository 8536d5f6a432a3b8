using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>
/// On PostgreSQL a row's sequence is taken at insert and commits finish in any order, so the writers hand rows over
/// out of sequence order; the queue must not rely on that order.
/// </summary>
public sealed class RelayQueueHandOverOrderTests : IAsyncLifetime
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly OutboxDatabase _db = new();
    private readonly FakeTimeProvider _clock = new();
    private IDatabaseWriter _writer = null!;

    public Task InitializeAsync()
    {
        _writer = _db.NewWriter();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncDisposable)_writer).DisposeAsync();
        _db.Dispose();
    }

    [Fact]
    public async Task A_row_a_sweep_read_is_not_handed_out_again_from_behind_a_row_it_did_not_read()
    {
        var queue = new RelayQueue(
            _db.Database, _writer, new AllOutboxPartitions(), new OutboxSignal(),
            Options.Create(new OutboxOptions { BatchSize = 100, PollInterval = PollInterval }),
            _clock, NullLogger<RelayQueue>.Instance);
        Assert.Empty(await queue.NextBatchAsync());
        var rows = await _writer.WriteAsync((connection, transaction) =>
            OutboxStore.Append(connection, transaction, [Event(), Event(), Event()], _clock.GetUtcNow()));

        // The last row is one the sweep below cannot see yet (as if its commit came after the sweep's read), and it
        // was handed over before the first row, whose writer was slower.
        _db.Execute($"UPDATE outbox SET next_attempt_at = next_attempt_at + 3600000 WHERE sequence = {rows[2].Sequence}");
        queue.Add([rows[2]]);
        queue.Add([rows[0]]);
        _clock.Advance(PollInterval);

        Assert.Equal([rows[0].Sequence, rows[1].Sequence], (await queue.NextBatchAsync()).Select(row => row.Sequence));
        Assert.Equal([rows[2].Sequence], (await queue.NextBatchAsync()).Select(row => row.Sequence));
    }

    private static OutgoingMessage Event()
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/1", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, null);
    }
}
