using System.Data.Common;
using Dapper;
using Npgsql;

namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// Serialises, across every instance sharing a PostgreSQL database, the transactions that decide a token's outcome:
/// an attempt's check-then-insert, a pending answer, an integration-created webhook, the sweeper, a recorded
/// redemption. Each takes the lock of the end user it concerns, then that of the token, so the second of two such
/// transactions reads what the first committed (READ COMMITTED takes a new snapshot per statement) instead of both
/// missing each other. On SQLite the single writer runs one transaction at a time already.
/// </summary>
/// <remarks>
/// Transaction-level advisory locks: released by the commit or rollback, never leaked by a crash. The keys hash the
/// schema too, so two deployments in two schemas of one database never wait for each other. Always end user before
/// token, and at most one of each per transaction, so no two transactions wait for each other in a circle.
/// </remarks>
internal static class RedemptionLocks
{
    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || @Key, 0))";

    public static void Take(DbConnection connection, DbTransaction transaction, string? endUserOriginId, string? tokenHash)
    {
        if (connection is not NpgsqlConnection)
        {
            return;
        }

        if (endUserOriginId is not null)
        {
            connection.Execute(LockSql, new { Key = "/kombo/end-user/" + endUserOriginId }, transaction);
        }

        if (tokenHash is not null)
        {
            connection.Execute(LockSql, new { Key = "/kombo/token/" + tokenHash }, transaction);
        }
    }
}
