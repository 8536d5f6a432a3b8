using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.KomboApi;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also remembers every timer armed on it (Polly's back-off delays and
/// timeouts), so a test can wait until a delay is scheduled before it moves the clock.
/// </summary>
internal sealed class TestClock : FakeTimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _armed = new();
    private readonly SemaphoreSlim _changed = new(0);

    public IReadOnlyCollection<TimeSpan> ArmedTimers => _armed.ToArray();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new RecordingTimer(base.CreateTimer(callback, state, dueTime, period), this);
        Armed(dueTime);
        return timer;
    }

    /// <summary>Waits, bounded, until a timer due in <paramref name="dueTime"/> has been armed.</summary>
    public Task WaitForTimerAsync(TimeSpan dueTime) => WaitForTimersAsync(due => due == dueTime, 1);

    /// <summary>Waits, bounded, until <paramref name="count"/> timers matching <paramref name="match"/> were armed.</summary>
    public async Task<IReadOnlyList<TimeSpan>> WaitForTimersAsync(Func<TimeSpan, bool> match, int count)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            var matching = _armed.Where(match).ToList();
            if (matching.Count >= count)
            {
                return matching;
            }

            var left = deadline - Environment.TickCount64;
            if (left <= 0 || !await _changed.WaitAsync(TimeSpan.FromMilliseconds(left)))
            {
                throw new TimeoutException($"Expected {count} matching timers; armed: {string.Join(", ", _armed)}.");
            }
        }
    }

    private void Armed(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            _armed.Enqueue(dueTime);
            _changed.Release();
        }
    }

    private sealed class RecordingTimer(ITimer inner, TestClock clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.Armed(dueTime);
            return inner.Change(dueTime, period);
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
