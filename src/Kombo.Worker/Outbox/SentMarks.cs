using Kombo.Worker.Storage;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Marks rows sent as the broker confirms them, batched: while one mark is being committed, the confirms that arrive
/// meanwhile gather for the next. So a crash republishes little more than the publishes in flight, not whole rounds.
/// A row stays in <see cref="Unmarked"/> until its mark committed, so the relay never reads it as due meanwhile.
/// </summary>
internal sealed partial class SentMarks(IDatabaseWriter writer, TimeProvider time, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly HashSet<long> _unmarked = [];
    private List<long> _queued = [];
    private Task _writing = Task.CompletedTask;
    private bool _writeInFlight;
    private bool _lastWriteFailed;

    /// <summary>Whether a mark failed (a full or read-only disk) and its rows wait to be marked again.</summary>
    public bool NeedRetry
    {
        get
        {
            lock (_lock)
            {
                return _lastWriteFailed && !_writeInFlight;
            }
        }
    }

    /// <summary>Rows confirmed whose mark is not committed yet; taken before a read of the table.</summary>
    public HashSet<long> Unmarked()
    {
        lock (_lock)
        {
            return [.. _unmarked];
        }
    }

    public void Confirmed(long sequence)
    {
        lock (_lock)
        {
            _unmarked.Add(sequence);
            _queued.Add(sequence);
            if (!_writeInFlight)
            {
                StartWrite();
            }
        }
    }

    /// <summary>Waits until every row confirmed so far is marked, retrying a failed mark once.</summary>
    /// <returns>Whether no row is left unmarked.</returns>
    public async Task<bool> FlushAsync()
    {
        var retried = false;
        while (true)
        {
            Task writing;
            lock (_lock)
            {
                if (!_writeInFlight)
                {
                    if (_queued.Count == 0)
                    {
                        return true;
                    }

                    if (retried)
                    {
                        return false;
                    }

                    retried = true;
                    StartWrite();
                }

                writing = _writing;
            }

            await writing;
        }
    }

    private void StartWrite()
    {
        var batch = _queued;
        _queued = [];
        _writeInFlight = true;
        _writing = MarkAsync(batch);
    }

    private async Task MarkAsync(List<long> batch)
    {
        var marked = false;
        try
        {
            var now = time.GetUtcNow();
            await writer.WriteAsync((connection, transaction) =>
            {
                OutboxStore.MarkSent(connection, transaction, batch, now);
                return true;
            }, CancellationToken.None);
            marked = true;
        }
        catch (Exception ex)
        {
            LogMarkFailed(ex, batch.Count);
        }

        lock (_lock)
        {
            _writeInFlight = false;
            _lastWriteFailed = !marked;
            if (marked)
            {
                _unmarked.ExceptWith(batch);
                if (_queued.Count > 0)
                {
                    StartWrite();
                }
            }
            else
            {
                // Marked again later, never published again: a disk outage must not turn into a stream of duplicates.
                _queued.AddRange(batch);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not mark {Rows} published outbox rows as sent; the mark is retried (after a restart they are published again)")]
    private partial void LogMarkFailed(Exception exception, int rows);
}
