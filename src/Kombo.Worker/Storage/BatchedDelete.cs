namespace Kombo.Worker.Storage;

/// <summary>
/// Deletes in batches, each its own short write transaction, until a batch comes back short: a long delete never holds
/// the database's one writer long enough to hold up the consumers.
/// </summary>
internal static class BatchedDelete
{
    /// <param name="deleteBatch">Deletes at most <paramref name="batchSize"/> rows in one transaction; returns how many.</param>
    public static async Task<long> RunAsync(Func<CancellationToken, ValueTask<int>> deleteBatch, int batchSize, CancellationToken cancellationToken)
    {
        long total = 0;
        int deleted;
        do
        {
            deleted = await deleteBatch(cancellationToken);
            total += deleted;
        }
        while (deleted == batchSize);

        return total;
    }
}
