using System.Data.Common;
using Kombo.Worker.Operations;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Fails while the oldest pending outbox row is older than <see cref="HealthOptions.OutboxStuckAfter"/>: events
/// are committed but not leaving. Parked rows are reported, not failed on: they wait for an operator by design.
/// </summary>
internal sealed class OutboxNotStuckCheck(OutboxStatistics statistics, IOptions<HealthOptions> options, TimeProvider time) : IHealthCheck
{
    public const string Name = "outbox";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        OutboxCounts counts;
        try
        {
            counts = statistics.Outbox();
        }
        catch (DbException ex)
        {
            var error = ex switch
            {
                SqliteException sqlite => $"SQLite error {sqlite.SqliteErrorCode}",
                PostgresException postgres => $"PostgreSQL error {postgres.SqlState}",
                _ => ex.GetType().Name,
            };
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"The outbox cannot be read ({error}).", ex));
        }

        var age = counts.OldestPendingAge(time.GetUtcNow());
        var stuckAfter = options.Value.OutboxStuckAfter;
        var data = new Dictionary<string, object>
        {
            ["pending"] = counts.Pending,
            ["oldestPendingAgeSeconds"] = Math.Round(age.TotalSeconds, 1),
            ["parked"] = counts.Parked,
        };

        return Task.FromResult(age < stuckAfter
            ? HealthCheckResult.Healthy($"{counts.Pending} pending, {counts.Parked} parked.", data)
            : new HealthCheckResult(context.Registration.FailureStatus,
                $"The oldest pending row has waited {age.TotalSeconds:0} s, longer than Health:OutboxStuckAfter ({stuckAfter.TotalSeconds:0} s).", data: data));
    }
}
