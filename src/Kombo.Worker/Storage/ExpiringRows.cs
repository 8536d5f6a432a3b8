using System.Data.Common;
using Kombo.Worker.Outbox;

namespace Kombo.Worker.Storage;

/// <summary>
/// A feature's table whose rows the cleanup deletes once they are older than their retention: the feature owns the
/// SQL, the settings own how long, the cleanup owns when and in what batches.
/// </summary>
/// <param name="RetentionOf">The retention of these rows, read from the settings.</param>
/// <param name="DeleteBatch">Deletes at most <c>limit</c> rows whose time is at or before <c>cutoff</c>; returns how many.</param>
internal sealed record ExpiringRows(
    string Table,
    Func<OutboxOptions, RetentionOptions, TimeSpan> RetentionOf,
    Func<DbConnection, DbTransaction, DateTimeOffset, int, int> DeleteBatch);
