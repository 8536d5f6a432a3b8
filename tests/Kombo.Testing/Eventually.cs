using System.Diagnostics;

namespace Kombo.Testing;

/// <summary>The one bounded poll of the tests: checks a condition every 20 ms until it holds or the time is up.</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits, bounded, until <paramref name="condition"/> holds; says what it waited for when it gives up.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        if (!await UntilAsync(condition, timeout ?? DefaultTimeout))
        {
            throw new TimeoutException($"Timed out waiting until {what}.");
        }
    }

    /// <inheritdoc cref="HoldsAsync(Func{bool}, string, TimeSpan?)"/>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        if (!await UntilAsync(condition, timeout ?? DefaultTimeout))
        {
            throw new TimeoutException($"Timed out waiting until {what}.");
        }
    }

    /// <summary>A bounded wait that reports instead of throwing, so a chaos scenario still records its row before it asserts.</summary>
    /// <returns>Whether <paramref name="condition"/> held before <paramref name="timeout"/> ran out.</returns>
    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout) =>
        UntilAsync(() => Task.FromResult(condition()), timeout);

    /// <returns>Whether <paramref name="condition"/> held before <paramref name="timeout"/> ran out.</returns>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition())
        {
            if (waited.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(PollInterval);
        }

        return true;
    }
}
