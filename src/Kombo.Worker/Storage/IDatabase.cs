using System.Data.Common;

namespace Kombo.Worker.Storage;

/// <summary>
/// The worker's database, whichever provider holds it (<see cref="StorageOptions.Provider"/>): open connections for
/// reads. Every write goes through the <see cref="IDatabaseWriter"/>.
/// </summary>
internal interface IDatabase
{
    /// <summary>What log lines and the outbox tool call it: a file path, or host, port and database (never a password).</summary>
    string Name { get; }

    /// <summary>True when several worker instances share the database (PostgreSQL); SQLite belongs to one.</summary>
    bool IsShared { get; }

    DbConnection Open();
}
