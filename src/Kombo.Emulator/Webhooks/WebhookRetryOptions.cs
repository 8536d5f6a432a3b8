namespace Kombo.Emulator.Webhooks;

/// <summary>
/// The <c>Emulator:WebhookRetry</c> section. A delivery not answered 2xx waits <see cref="InitialDelay"/>, doubling up
/// to <see cref="MaxDelay"/>, and is tried again until it is acknowledged or <see cref="GiveUpAfter"/> has passed
/// since its first attempt.
/// </summary>
public sealed record WebhookRetryOptions
{
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How long one POST may take before it counts as a failed attempt.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries in flight at once, each for a different integration.</summary>
    public int Parallelism { get; init; } = 4;

    public TimeSpan DelayAfter(int failedAttempts)
    {
        var doubled = InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        return TimeSpan.FromMilliseconds(Math.Min(doubled, MaxDelay.TotalMilliseconds));
    }

    public IEnumerable<string> Problems()
    {
        if (InitialDelay <= TimeSpan.Zero || MaxDelay < InitialDelay)
        {
            yield return "InitialDelay must be positive and MaxDelay at least InitialDelay.";
        }

        if (GiveUpAfter <= TimeSpan.Zero || AttemptTimeout <= TimeSpan.Zero)
        {
            yield return "GiveUpAfter and AttemptTimeout must be positive.";
        }

        if (Parallelism < 1)
        {
            yield return "Parallelism must be at least 1.";
        }
    }
}
