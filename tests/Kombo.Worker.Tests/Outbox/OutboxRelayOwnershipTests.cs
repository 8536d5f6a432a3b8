using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>The relay publishes only rows of partitions this instance still owns when their publish starts.</summary>
public sealed class OutboxRelayOwnershipTests
{
    [Fact]
    public async Task A_row_queued_on_a_lane_is_not_published_once_its_partition_is_no_longer_owned()
    {
        var partitions = new LosablePartitions();
        await using var harness = await Harness.StartAsync(
            new() { ["Outbox:PublishLanes"] = "1" },
            services => services.AddSingleton<IOutboxPartitions>(partitions));
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var keys = KeysInDistinctPartitions(3);
        var first = Event(keys[0]);
        var lost = Event(keys[1]);
        var gate = faults.HoldUntilReleased(first.MessageId);

        // One lane: the second row waits behind the first one's held publish, and its partition goes to another
        // instance meanwhile.
        await CommitAsync(harness, first, lost);
        await Eventually.HoldsAsync(() => faults.IsHeld(first.MessageId), "the first row is publishing");
        partitions.Lose(OutboxPartition.Of(keys[1], Guid.Empty));
        gate.SetResult();

        // A later row on the same lane starts only after the lost one's turn ended.
        var later = Event(keys[2]);
        await CommitAsync(harness, later);
        await Eventually.HoldsAsync(() => faults.PublishedIds.Contains(later.MessageId), "the later row was published");

        Assert.Equal([first.MessageId, later.MessageId], faults.PublishedIds);
        // Left to its new owner as it was: not sent, no attempt, no error.
        Assert.Equal(1, harness.Count(
            "SELECT COUNT(*) FROM outbox WHERE message_id = @Id AND sent_at IS NULL AND attempts = 0 AND last_error IS NULL",
            new { Id = lost.MessageId.ToString() }));
    }

    private static Task CommitAsync(Harness harness, params OutgoingMessage[] messages) =>
        harness.Writer.WriteAsync(
            (connection, transaction) => OutboxStore.Append(connection, transaction, messages, TimeProvider.System.GetUtcNow()),
            committed: harness.Services.GetRequiredService<RelayQueue>().Add);

    private static string[] KeysInDistinctPartitions(int count) =>
        [.. Enumerable.Range(0, 10_000).Select(i => $"customer-{i}").DistinctBy(key => OutboxPartition.Of(key, Guid.Empty)).Take(count)];

    private static OutgoingMessage Event(string orderingKey)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = "https://connect.kombo.test/1", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
    }

    /// <summary>Every partition at first; one is given to another instance when the test says so.</summary>
    private sealed class LosablePartitions : IOutboxPartitions
    {
        private volatile bool[] _owns = [.. Enumerable.Repeat(true, OutboxPartition.Count)];

        public IReadOnlyList<int>? Owned => [.. Enumerable.Range(0, OutboxPartition.Count).Where(Owns)];

        public event Action? Changed;

        public bool Owns(int partition) => _owns[partition];

        public OwnerSession? Owner => null;

        public void WakeOwner(int partition)
        {
        }

        public void Lose(int partition)
        {
            var owns = (bool[])_owns.Clone();
            owns[partition] = false;
            _owns = owns;
            Changed?.Invoke();
        }
    }
}
