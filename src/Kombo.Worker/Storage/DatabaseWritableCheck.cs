using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kombo.Worker.Storage;

/// <summary>
/// Commits one tiny upsert through the <see cref="IDatabaseWriter"/>, the same queue and connection every command
/// uses: a full disk, a lost file or a stalled writer all show up here.
/// </summary>
internal sealed class DatabaseWritableCheck(IDatabase database, IDatabaseWriter writer, TimeProvider time) : IHealthCheck
{
    public const string Name = "database";

    private const string TouchSql = """
        INSERT INTO health (id, checked_at) VALUES (1, @Now)
        ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at
        """;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await writer.WriteAsync(
                (connection, transaction) => connection.Execute(TouchSql, new { Now = UnixTime.ToMs(time.GetUtcNow()) }, transaction),
                cancellationToken);
            return HealthCheckResult.Healthy("A write committed.", Describe());
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"A write did not commit ({ex.GetType().Name}).", ex, Describe());
        }
    }

    // Which database readiness speaks for: a file, or host, port and database (never the connection string).
    private Dictionary<string, object> Describe() => new()
    {
        ["provider"] = database.IsShared ? StorageOptions.PostgreSql : StorageOptions.Sqlite,
        ["database"] = database.Name,
    };
}
