using System.Data.Common;

namespace Kombo.Worker.Storage;

/// <summary>
/// A feature's table whose rows the cleanup deletes once they are older than <c>Outbox:InboxRetention</c>, as it does
/// the inbox: the feature owns the SQL, the cleanup owns when and in what batches.
/// </summary>
/// <param name="DeleteBatch">Deletes at most <c>limit</c> rows recorded at or before <c>cutoff</c>; returns how many.</param>
internal sealed record ExpiringRows(
    string Table, Func<DbConnection, DbTransaction, DateTimeOffset, int, int> DeleteBatch);
