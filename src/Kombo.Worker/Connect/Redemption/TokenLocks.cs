namespace Kombo.Worker.Connect.Redemption;

/// <summary>
/// One redemption of a token at a time in this process. The broker redelivers a command whose first delivery is still
/// running (its channel closed under it), and a caller may send one token twice: without this, the second would call
/// Kombo while the first's answer is on its way, hear "invalid" from a single-use token, and answer a connection that
/// succeeded as uncertain. Waiting for the first instead lets the second find its committed answer.
/// </summary>
internal sealed class TokenLocks
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public async Task<IDisposable> AcquireAsync(string tokenHash, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(tokenHash, out entry!))
            {
                entry = new Entry();
                _entries[tokenHash] = entry;
            }

            entry.Users++;
        }

        try
        {
            await entry.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(tokenHash, entry);
            throw;
        }

        return new Held(this, tokenHash, entry);
    }

    /// <summary>Deliveries holding or waiting for the token's lock (for tests).</summary>
    internal int UsersOf(string tokenHash)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(tokenHash, out var entry) ? entry.Users : 0;
        }
    }

    private void Leave(string tokenHash, Entry entry)
    {
        lock (_gate)
        {
            if (--entry.Users == 0)
            {
                _entries.Remove(tokenHash);
            }
        }
    }

    private sealed class Entry
    {
        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        public int Users { get; set; }
    }

    private sealed class Held(TokenLocks locks, string tokenHash, Entry entry) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                entry.Semaphore.Release();
                locks.Leave(tokenHash, entry);
            }
        }
    }
}
