using Kombo.Worker.Outbox;

namespace Kombo.Worker.Tests.Outbox;

public sealed class CommittedRowsTests
{
    private readonly CommittedRows _rows = new(new OutboxSignal(), TimeProvider.System);

    private static PendingMessage[] Rows(long from, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new PendingMessage { Sequence = from + i })];

    [Fact]
    public void Rows_are_taken_in_commit_order_with_their_commit_time()
    {
        _rows.Add(Rows(1, 3));
        _rows.Add(Rows(4, 2));

        var taken = _rows.TryTake(4)!;

        Assert.Equal([1L, 2, 3, 4], taken.Select(row => row.Sequence));
        Assert.All(taken, row => Assert.NotNull(row.CommittedAt));
        Assert.Equal([5L], _rows.TryTake(4)!.Select(row => row.Sequence));
    }

    [Fact]
    public void After_a_row_did_not_fit_every_row_is_left_to_the_table_until_the_next_sweep()
    {
        _rows.Add(Rows(1, CommittedRows.Capacity - 1));
        _rows.Add(Rows(CommittedRows.Capacity, 2));
        _rows.Add(Rows(CommittedRows.Capacity + 2, 1));

        Assert.Null(_rows.TryTake(10));

        _rows.BeginSweep();
        Assert.Equal(CommittedRows.Capacity - 1, _rows.DropThrough(CommittedRows.Capacity + 2).Count);
        _rows.Add(Rows(CommittedRows.Capacity + 3, 1));
        Assert.Equal([CommittedRows.Capacity + 3L], _rows.TryTake(10)!.Select(row => row.Sequence));
    }

    [Fact]
    public void A_sweep_drops_the_rows_it_read_and_keeps_the_later_ones()
    {
        _rows.Add(Rows(1, 5));

        var dropped = _rows.DropThrough(3);

        Assert.Equal([1L, 2, 3], dropped.Select(row => row.Sequence));
        Assert.Equal([4L, 5], _rows.TryTake(10)!.Select(row => row.Sequence));
    }

    [Fact]
    public void Rows_handed_over_after_a_sweep_read_them_are_not_taken_again()
    {
        // The writer hands rows over just after their commit, which a sweep may read in between.
        _rows.DropThrough(3);
        _rows.Add(Rows(2, 3));

        Assert.Equal([4L], _rows.TryTake(10)!.Select(row => row.Sequence));
    }
}
