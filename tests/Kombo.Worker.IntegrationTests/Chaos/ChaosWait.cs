using System.Diagnostics;

namespace Kombo.Worker.IntegrationTests.Chaos;

/// <summary>Bounded waits that report instead of throwing, so a scenario still records its row before it asserts.</summary>
public static class ChaosWait
{
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

            await Task.Delay(100);
        }

        return true;
    }
}
