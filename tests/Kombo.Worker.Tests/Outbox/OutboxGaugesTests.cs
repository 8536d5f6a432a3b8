using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.Outbox;

public sealed class OutboxGaugesTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private readonly OutboxDatabase _db = new();
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly WorkerMetrics _metrics;
    private readonly MeterReadings _readings;

    public OutboxGaugesTests()
    {
        _metrics = new WorkerMetrics(_meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        _ = new OutboxGauges(_metrics, new OutboxStatistics(_db.Database, _clock), _clock, NullLogger<OutboxGauges>.Instance);
        _readings = new MeterReadings(_metrics.Meter);
    }

    public void Dispose()
    {
        _readings.Dispose();
        _meters.Dispose();
        _db.Dispose();
    }

    [Fact]
    public void Gauges_report_pending_rows_the_oldest_pending_age_parked_rows_and_the_inbox()
    {
        _db.Append(Now.AddSeconds(-90));
        _db.Append(Now.AddSeconds(-10));
        var sent = _db.Append(Now.AddHours(-1));
        _db.MarkSent(sent.Sequence, Now.AddMinutes(-59));
        var parked = _db.Append(Now.AddHours(-2));
        _db.Park(parked.Sequence, Now.AddHours(-1), "boom");
        _db.RecordInbox(5);

        var values = _readings.Observe();

        Assert.Equal(2, values["kombo.worker.outbox.pending_rows"]);
        Assert.Equal(90, values["kombo.worker.outbox.oldest_pending_age"]);
        Assert.Equal(1, values["kombo.worker.outbox.parked_rows"]);
        Assert.Equal(5, values["kombo.worker.inbox.rows"]);
        Assert.Equal(0, values["kombo.worker.kombo.circuit_state"]);
    }

    [Fact]
    public void With_nothing_pending_the_oldest_age_is_zero()
    {
        var values = _readings.Observe();

        Assert.Equal(0, values["kombo.worker.outbox.pending_rows"]);
        Assert.Equal(0, values["kombo.worker.outbox.oldest_pending_age"]);
    }

    [Fact]
    public void The_outbox_is_read_at_most_once_a_second_however_often_it_is_scraped()
    {
        _db.Append(Now.AddSeconds(-30));
        Assert.Equal(1, _readings.Observe()["kombo.worker.outbox.pending_rows"]);

        _db.Append(Now);
        _clock.Advance(TimeSpan.FromMilliseconds(900));
        var cached = _readings.Observe();
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        var fresh = _readings.Observe();

        Assert.Equal(1, cached["kombo.worker.outbox.pending_rows"]);
        Assert.Equal(30.9, cached["kombo.worker.outbox.oldest_pending_age"], precision: 3);
        Assert.Equal(2, fresh["kombo.worker.outbox.pending_rows"]);
    }

    [Fact]
    public void The_inbox_count_walks_its_rows_at_most_every_fifteen_seconds()
    {
        _db.RecordInbox(3);
        Assert.Equal(3, _readings.Observe()["kombo.worker.inbox.rows"]);

        _db.RecordInbox(2);
        _clock.Advance(OutboxStatistics.InboxMaxAge - TimeSpan.FromSeconds(1));
        var cached = _readings.Observe()["kombo.worker.inbox.rows"];
        _clock.Advance(TimeSpan.FromSeconds(1));
        var fresh = _readings.Observe()["kombo.worker.inbox.rows"];

        Assert.Equal(3, cached);
        Assert.Equal(5, fresh);
    }

    [Fact]
    public void A_database_that_cannot_be_read_reports_no_value_rather_than_zero()
    {
        _db.Execute("DROP TABLE outbox");

        var values = _readings.Observe();

        Assert.False(values.ContainsKey("kombo.worker.outbox.pending_rows"));
        Assert.False(values.ContainsKey("kombo.worker.outbox.oldest_pending_age"));
        Assert.True(values.ContainsKey("kombo.worker.inbox.rows"));
    }
}
