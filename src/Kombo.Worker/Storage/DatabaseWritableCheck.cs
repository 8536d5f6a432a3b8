using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kombo.Worker.Storage;

/// <summary>
/// Commits one upsert through the <see cref="IDatabaseWriter"/>, the same queue and connection every command uses: a
/// full disk, a lost file or a stalled writer all show up here.
/// </summary>
/// <remarks>
/// The upsert carries <see cref="ProbeBytes"/> of fresh bytes, more than a command's transaction writes. A one-row probe
/// would say "writable" on a full disk whenever a failed larger commit had left a few pages of WAL behind: the probe
/// fits there while no command does. Fresh bytes, because SQLite skips rewriting overflow pages whose content is equal.
/// </remarks>
internal sealed class DatabaseWritableCheck(IDatabase database, IDatabaseWriter writer, TimeProvider time) : IHealthCheck
{
    public const string Name = "database";

    public const int ProbeBytes = 64 * 1024;

    private const string TouchSql = """
        INSERT INTO health (id, checked_at, padding) VALUES (1, @Now, @Padding)
        ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, padding = excluded.padding
        """;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var padding = new byte[ProbeBytes];
        Random.Shared.NextBytes(padding);
        try
        {
            await writer.WriteAsync(
                (connection, transaction) => connection.Execute(TouchSql, new { Now = UnixTime.ToMs(time.GetUtcNow()), Padding = padding }, transaction),
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
