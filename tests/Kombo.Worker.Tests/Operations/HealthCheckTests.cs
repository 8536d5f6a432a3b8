using System.Text.Json;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.Operations;

public sealed class HealthCheckTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private readonly OutboxDatabase _db = new();
    private readonly FakeTimeProvider _clock = new(Now);

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task Outbox_is_healthy_while_the_oldest_pending_row_is_younger_than_the_limit()
    {
        _db.Append(Now.AddMinutes(-4));
        _db.Append(Now);

        var result = await CheckOutboxAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(2L, result.Data["pending"]);
        Assert.Equal(240.0, result.Data["oldestPendingAgeSeconds"]);
    }

    [Fact]
    public async Task Outbox_is_unhealthy_once_the_oldest_pending_row_has_waited_longer_than_the_limit()
    {
        _db.Append(Now.AddMinutes(-6));

        var result = await CheckOutboxAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal("The oldest pending row has waited 360 s, longer than Health:OutboxStuckAfter (300 s).", result.Description);
    }

    [Fact]
    public async Task Parked_rows_are_reported_but_do_not_make_the_outbox_unhealthy()
    {
        var parked = _db.Append(Now.AddHours(-3));
        _db.Park(parked.Sequence, Now.AddHours(-2), "boom");

        var result = await CheckOutboxAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(1L, result.Data["parked"]);
    }

    [Fact]
    public async Task Outbox_is_unhealthy_when_its_table_cannot_be_read()
    {
        _db.Execute("DROP TABLE outbox");

        var result = await CheckOutboxAsync(TimeSpan.FromMinutes(5));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith("The outbox cannot be read (", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Database_is_healthy_when_a_write_through_the_writer_commits()
    {
        var writer = _db.NewWriter();
        var check = new DatabaseWritableCheck(_db.Database, writer, _clock);

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(UnixTime.ToMs(Now), _db.Scalar<long>("SELECT checked_at FROM health WHERE id = 1"));
    }

    [Fact]
    [Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
    public async Task Database_is_unhealthy_when_a_write_cannot_commit()
    {
        using var directory = new TempDirectory();
        var options = Options.Create(new StorageOptions { DatabasePath = directory.File("gone/worker.db") });
        var database = new SqliteDatabase(options, new TestHostEnvironment(directory.Path));
        await using var writer = new SqliteWriter(database, options);
        var check = new DatabaseWritableCheck(database, writer, _clock);

        var result = await check.CheckHealthAsync(Context(check));

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith("A write did not commit (SqliteException)", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_response_lists_each_check_with_its_status_description_and_data_but_no_exception()
    {
        var report = new HealthReport(
            new Dictionary<string, HealthReportEntry>
            {
                ["masstransit-bus"] = new(HealthStatus.Healthy, "Ready", TimeSpan.FromMilliseconds(1.25), null, null, ["ready"]),
                ["database"] = new(HealthStatus.Unhealthy, "A write did not commit (SqliteException).", TimeSpan.FromMilliseconds(3),
                    new InvalidOperationException("secret detail"), null),
                ["outbox"] = new(HealthStatus.Healthy, "0 pending, 0 parked.", TimeSpan.Zero, null,
                    new Dictionary<string, object> { ["pending"] = 0L }),
            },
            TimeSpan.FromMilliseconds(4));
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();

        await HealthResponse.WriteAsync(context, report, details: true);

        context.Response.Body.Position = 0;
        var text = new StreamReader(context.Response.Body).ReadToEnd();
        using var json = JsonDocument.Parse(text);
        Assert.Equal("application/json; charset=utf-8", context.Response.ContentType);
        Assert.Equal("Unhealthy", json.RootElement.GetProperty("status").GetString());
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("masstransit-bus").GetProperty("status").GetString());
        Assert.Equal("Unhealthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal(0, checks.GetProperty("outbox").GetProperty("data").GetProperty("pending").GetInt64());
        Assert.DoesNotContain("secret detail", text, StringComparison.Ordinal);
    }

    private Task<HealthCheckResult> CheckOutboxAsync(TimeSpan stuckAfter)
    {
        var check = new OutboxNotStuckCheck(
            new OutboxStatistics(_db.Database, _clock), Options.Create(new HealthOptions { OutboxStuckAfter = stuckAfter }), _clock);
        return check.CheckHealthAsync(Context(check));
    }

    private static HealthCheckContext Context(IHealthCheck check) =>
        new() { Registration = new HealthCheckRegistration("check", check, HealthStatus.Unhealthy, null) };
}
