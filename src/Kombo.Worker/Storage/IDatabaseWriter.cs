using System.Data.Common;

namespace Kombo.Worker.Storage;

/// <summary>
/// Runs writes in transactions: a write's task completes only once the transaction holding it is durable, and a
/// failing write never takes another one's work with it.
/// </summary>
internal interface IDatabaseWriter
{
    /// <summary>Raised after each successful commit, with the number of writes it held, before their tasks complete.</summary>
    event Action<int>? Committed;

    /// <summary>Completes, with the cause, if the writer stops other than by being disposed.</summary>
    Task<Exception> StoppedAbnormally { get; }

    /// <param name="committed">
    /// Runs once the transaction holding this write is durable, before the write's task completes.
    /// </param>
    Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken = default, Action<T>? committed = null);

    /// <summary>Housekeeping between commits where the provider needs it (SQLite's WAL checkpoint); else nothing.</summary>
    Task CheckpointAsync(CancellationToken cancellationToken = default);
}
