using System.Collections.Concurrent;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>The relay through broker outages, unsendable rows and stops: what it counts, parks and marks.</summary>
public sealed class OutboxRelayFailureTests
{
    private static OutgoingMessage Event(int number, string? orderingKey = null, Uri? destination = null)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = $"https://connect.kombo.test/{number}", LinkType = "EMBEDDED" };
        return new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, destination, orderingKey);
    }

    private static Task CommitAsync(Harness harness, params OutgoingMessage[] messages) =>
        harness.Writer.WriteAsync(
            (connection, transaction) => OutboxStore.Append(connection, transaction, messages, TimeProvider.System.GetUtcNow()),
            committed: harness.Services.GetRequiredService<RelayQueue>().Add);

    private static long Attempts(Harness harness, OutgoingMessage message) =>
        harness.Count("SELECT attempts FROM outbox WHERE message_id = @Id", new { Id = message.MessageId.ToString() });

    [Fact]
    public async Task Broker_outage_costs_no_attempts_so_a_row_that_fails_once_after_it_is_not_parked()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:MaxAttempts"] = "3" });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var a = Event(1, orderingKey: "customer-1");
        var b = Event(2, orderingKey: "customer-2");

        // The broker is down: every publish of every row fails the way a lost connection or a confirm timeout does.
        faults.Fail = _ => new TimeoutException("injected: no confirm from the broker");
        await CommitAsync(harness, a, b);
        await Eventually.HoldsAsync(() => faults.Failed >= 20, "both rows failed ten outage rounds each");
        Assert.Equal(0, Attempts(harness, a));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"));

        // The broker is back, and row A fails once more for a reason of its own: that costs its first attempt only.
        var once = 1;
        faults.Fail = id => id == a.MessageId && Interlocked.Exchange(ref once, 0) == 1 ? new InvalidOperationException("injected: refused once") : null;
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "both rows were sent");
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"));
        Assert.Equal(1, Attempts(harness, a));
    }

    [Fact]
    public async Task Unsendable_row_failing_alone_is_parked_and_an_event_committed_after_it_still_goes_out()
    {
        // A relay-wide back-off of up to an hour would hold the later event far longer than the bounded wait below;
        // no sweep for ten minutes, so the later event must come through the handover.
        await using var harness = await Harness.StartAsync(new()
        {
            ["Outbox:MaxAttempts"] = "3",
            ["Outbox:RetryBaseDelay"] = "00:00:00.100",
            ["Outbox:RetryMaxDelay"] = "01:00:00",
            ["Outbox:PollInterval"] = "00:10:00",
        });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var unsendable = Event(1, orderingKey: "customer-1");
        faults.Fail = id => id == unsendable.MessageId ? new InvalidOperationException("injected: the broker refuses this message") : null;

        await CommitAsync(harness, unsendable);
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL") == 1, "the unsendable row was parked");
        Assert.Equal(3, Attempts(harness, unsendable));

        var later = Event(2, orderingKey: "customer-2");
        await CommitAsync(harness, later);
        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Any(p => p.Context.MessageId == later.MessageId), "the later event was published");
    }

    [Fact]
    public async Task Confirmed_rows_are_marked_sent_while_their_round_is_still_publishing()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "1" });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var messages = Enumerable.Range(0, 100).Select(i => Event(i)).ToArray();
        var gate = faults.HoldUntilReleased(messages[50].MessageId);

        await CommitAsync(harness, messages);

        // The round cannot end while row 50 waits for its confirm; the 50 rows before it are confirmed. (Waited for
        // less than the relay's 15 s confirm timeout, which would end the round.)
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") == 50,
            "the confirmed rows were marked", TimeSpan.FromSeconds(10));
        gate.SetResult();
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "every row was marked sent");
        Assert.Equal(messages.Length, faults.Published);
    }

    [Fact]
    public async Task Rows_committed_while_a_round_waits_for_a_confirm_go_out_before_that_round_ends()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "64" });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var waiting = Event(0, orderingKey: "customer-0");
        var gate = faults.HoldUntilReleased(waiting.MessageId);

        await CommitAsync(harness, waiting);
        await Eventually.HoldsAsync(() => faults.IsHeld(waiting.MessageId), "the first round is publishing");
        // Other end users, on other lanes but for one chance in 64 each.
        await CommitAsync(harness, [.. Enumerable.Range(1, 8).Select(i => Event(i, orderingKey: $"customer-{i}"))]);

        // Waited for less than the relay's 15 s confirm timeout, which would end the first round.
        await Eventually.HoldsAsync(() => faults.Published > 0, "a later row went out while the first round waited", TimeSpan.FromSeconds(10));
        gate.SetResult();
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "every row was marked sent");
        Assert.Equal(9, faults.Published);
    }

    [Fact]
    public async Task No_third_round_starts_while_two_wait_for_their_confirms()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "64" });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var first = Event(1, orderingKey: "customer-1");
        var second = Event(2, orderingKey: "customer-2");
        var gate = faults.HoldUntilReleased(first.MessageId, second.MessageId);

        // A stalled broker (a memory alarm blocks publishes without failing them): two rounds wait.
        await CommitAsync(harness, first);
        await Eventually.HoldsAsync(() => faults.IsHeld(first.MessageId), "the first round is publishing");
        await CommitAsync(harness, second);
        await Eventually.HoldsAsync(() => faults.IsHeld(second.MessageId), "the second round is publishing");
        await CommitAsync(harness, Event(3, orderingKey: "customer-3"));

        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Equal(0, faults.Published);
        gate.SetResult();
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "every row was marked sent");
        // Distinct ids: on a loaded machine the first round may reach its 15 s confirm timeout and publish a row again.
        Assert.Equal(3, faults.PublishedIds.Distinct().Count());
    }

    [Fact]
    public async Task A_row_behind_an_earlier_row_of_its_end_user_in_flight_is_held_back_when_that_one_fails()
    {
        await using var harness = await Harness.StartAsync(new()
        {
            ["Outbox:RetryBaseDelay"] = "00:00:00.050",
            ["Outbox:PollInterval"] = "00:00:00.050",
        });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var first = Event(1, orderingKey: "customer-1");
        var second = Event(2, orderingKey: "customer-1");
        var gate = faults.HoldUntilReleased(first.MessageId);
        var once = 1;
        faults.Fail = id => id == first.MessageId && Interlocked.Exchange(ref once, 0) == 1 ? new InvalidOperationException("injected: refused once") : null;

        // The second row is handed out while the first waits for its confirm, which then fails.
        await CommitAsync(harness, first);
        await Eventually.HoldsAsync(() => faults.IsHeld(first.MessageId), "the first row is publishing");
        await CommitAsync(harness, second);
        await Task.Delay(200);
        gate.SetResult();

        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL") == 0, "both rows were sent");
        Assert.Equal([first.MessageId, second.MessageId], faults.PublishedIds);
        Assert.Equal(1, Attempts(harness, first));
        Assert.Equal(0, Attempts(harness, second));
    }

    [Fact]
    public async Task The_confirm_latency_is_the_publish_alone_and_the_relay_latency_adds_the_wait_before_it()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "1" });
        using var readings = new MeterReadings(harness.Services.GetRequiredService<WorkerMetrics>().Meter);
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var slow = Event(1);
        faults.Hold = (id, cancellationToken) => id == slow.MessageId ? Task.Delay(300, cancellationToken) : Task.CompletedTask;

        // One lane: the second row waits for the first one's slow confirm before its own publish starts.
        await CommitAsync(harness, slow, Event(2));
        await Eventually.HoldsAsync(() => faults.Published == 2, "both rows were confirmed");

        // Bounds below the 300 ms hold: a timer may end a little early by the wall clock the relay reads.
        var relay = readings.Sum("kombo.worker.outbox.relay_latency");
        var confirm = readings.Sum("kombo.worker.outbox.confirm_latency");
        Assert.InRange(confirm, 0.25, relay);
        Assert.True(relay - confirm >= 0.25, $"relay {relay:0.000} s, confirm {confirm:0.000} s: the second row's wait is missing");
    }

    [Fact]
    public async Task Graceful_stop_marks_every_row_the_broker_confirmed()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:PublishLanes"] = "1" });
        var faults = new PublishFaults();
        using var observer = harness.Bus.Bus.ConnectPublishObserver(faults);
        var messages = Enumerable.Range(0, 100).Select(i => Event(i)).ToArray();
        faults.HoldUntilReleased(messages[20].MessageId);

        await CommitAsync(harness, messages);
        await Eventually.HoldsAsync(() => faults.Published == 20, "20 rows were confirmed");
        await harness.StopRelayAsync();

        Assert.Equal(20, faults.Published);
        Assert.Equal(20, harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL"));
        Assert.Equal(0, harness.Count("SELECT MAX(attempts) FROM outbox"));
    }
}

/// <summary>Fails or holds chosen publishes on the in-memory bus, and counts what got through.</summary>
internal sealed class PublishFaults : IPublishObserver
{
    private readonly ConcurrentQueue<Guid> _publishedIds = new();
    private readonly ConcurrentDictionary<Guid, bool> _held = new();
    private int _published;
    private int _failed;

    /// <summary>The error a publish of this message id fails with, or null to let it through.</summary>
    public Func<Guid, Exception?>? Fail { get; set; }

    public Func<Guid, CancellationToken, Task>? Hold { get; set; }

    /// <summary>Holds every publish of these messages until the returned gate is set (<see cref="IsHeld"/> once one waits).</summary>
    public TaskCompletionSource HoldUntilReleased(params Guid[] ids)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Hold = (id, cancellationToken) =>
        {
            if (!ids.Contains(id))
            {
                return Task.CompletedTask;
            }

            _held[id] = true;
            return gate.Task.WaitAsync(cancellationToken);
        };
        return gate;
    }

    public bool IsHeld(Guid id) => _held.ContainsKey(id);

    public int Published => Volatile.Read(ref _published);

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>The message ids that got through, in the order the broker took them.</summary>
    public IReadOnlyList<Guid> PublishedIds => [.. _publishedIds];

    public async Task PrePublish<T>(PublishContext<T> context) where T : class
    {
        var id = context.MessageId ?? Guid.Empty;
        if (Hold is { } hold)
        {
            await hold(id, context.CancellationToken);
        }

        if (Fail?.Invoke(id) is { } error)
        {
            Interlocked.Increment(ref _failed);
            throw error;
        }
    }

    public Task PostPublish<T>(PublishContext<T> context) where T : class
    {
        _publishedIds.Enqueue(context.MessageId ?? Guid.Empty);
        Interlocked.Increment(ref _published);
        return Task.CompletedTask;
    }

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
