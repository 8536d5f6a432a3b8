using Microsoft.Extensions.Options;

namespace Kombo.Emulator.RateLimits;

/// <summary>
/// One counter per fixed window, like Kombo's <c>ratelimit-*</c> headers describe. The window object is swapped with
/// a compare-exchange when time moves on, so counting is a single interlocked increment.
/// </summary>
public sealed class FixedWindowRateLimit(IOptions<EmulatorOptions> options, TimeProvider time)
{
    private readonly int _limit = options.Value.RateLimit;
    private readonly long _windowMs = (long)options.Value.RateLimitWindow.TotalMilliseconds;
    private Window _window = new(long.MinValue);

    public int Limit => _limit;

    public RateLimitDecision Take()
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var id = nowMs / _windowMs;
        var window = Volatile.Read(ref _window);
        while (window.Id != id)
        {
            var fresh = new Window(id);
            var seen = Interlocked.CompareExchange(ref _window, fresh, window);
            window = ReferenceEquals(seen, window) ? fresh : seen;
            if (window.Id > id)
            {
                break;
            }
        }

        var used = Interlocked.Increment(ref window.Count);
        var resetSeconds = (int)Math.Ceiling(((id + 1) * _windowMs - nowMs) / 1000.0);
        return new RateLimitDecision(used <= _limit, _limit, (int)Math.Max(0, _limit - used), resetSeconds);
    }

    public void Reset() => Volatile.Write(ref _window, new Window(long.MinValue));

    private sealed class Window(long id)
    {
        public readonly long Id = id;
        public long Count;
    }
}

public readonly record struct RateLimitDecision(bool Allowed, int Limit, int Remaining, int ResetSeconds);
