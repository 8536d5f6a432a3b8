using System.Data.Common;
using System.Text;
using Dapper;

namespace Kombo.Worker.Outbox;

/// <summary>
/// The keys one deployment's instances share on a PostgreSQL database: the first key of its partition locks, the first
/// key of its instance locks, and its wake-up channel. Advisory locks and channels belong to the whole database, while
/// a deployment is the schema its tables live in, so the keys derive from that schema's name: two deployments in two
/// schemas of one database neither share partitions nor count each other's instances.
/// </summary>
internal sealed record OutboxLockKeys(int PartitionSpace, int InstanceSpace, string Channel)
{
    // What every version before the keys were scoped used. A deployment in public keeps them, so that its old and new
    // instances still exclude each other during a rolling upgrade.
    private static readonly OutboxLockKeys Public = new(0x4B4F4D42, 0x4B4F4D49, "kombo_outbox"); // "KOMB", "KOMI"

    /// <param name="schema">The schema the tables are in: <c>current_schema()</c> of a session of the deployment.</param>
    public static OutboxLockKeys For(string schema) => schema == "public"
        ? Public
        : new(Hash("partitions", schema), Hash("instances", schema), $"kombo_outbox_{Hash("wake-ups", schema):x8}");

    /// <summary>The keys of the deployment whose tables <paramref name="connection"/> sees.</summary>
    public static async Task<OutboxLockKeys> ReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        For(await connection.ExecuteScalarAsync<string>(new CommandDefinition("SELECT current_schema()", cancellationToken: cancellationToken)) ?? "");

    // FNV-1a, stable across processes and versions as the keys must be; positive, so it reads the same as an oid.
    private static int Hash(string purpose, string schema)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes($"kombo/{purpose}/{schema}"))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash & 0x7FFFFFFF);
    }
}
