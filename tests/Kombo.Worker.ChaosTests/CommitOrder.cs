namespace Kombo.Worker.ChaosTests;

/// <summary>Whether each end user's events arrived, by their first copies, in the order their outbox rows committed.</summary>
public static class CommitOrder
{
    /// <param name="committed">Outbox rows with an ordering key, in commit order.</param>
    /// <returns>The end users (ordering keys) with an event missing or out of that order.</returns>
    public static List<string> OutOfOrder(IEnumerable<(string MessageId, string OrderingKey)> committed, EventLedger ledger)
    {
        var arrival = ledger.FirstArrivals().Select((id, index) => (id, index)).ToDictionary(a => a.id, a => a.index, StringComparer.Ordinal);
        return committed.GroupBy(row => row.OrderingKey)
            .Where(user => user.Count() > 1)
            .Where(user =>
            {
                var arrived = user.Select(row => arrival.GetValueOrDefault(row.MessageId, -1)).ToList();
                return arrived.Contains(-1) || !arrived.SequenceEqual(arrived.Order());
            })
            .Select(user => user.Key)
            .ToList();
    }
}
