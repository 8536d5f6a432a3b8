namespace Kombo.Worker.IntegrationTests.Infrastructure;

public static class Eventually
{
    /// <summary>Waits, bounded, until <paramref name="condition"/> holds; says what it waited for when it gives up.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(30)).TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }
}
