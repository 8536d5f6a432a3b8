using Kombo.Emulator.Faults;

namespace Kombo.Emulator;

/// <summary>The <c>Emulator</c> configuration section.</summary>
public sealed record EmulatorOptions
{
    public const string SectionName = "Emulator";

    /// <summary>The key every <c>/v1</c> call must send as <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public string ApiKey { get; init; } = "emulator-key";

    /// <summary>How long a connect token handed to the end user stays redeemable.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Kombo does not document whether a token can be redeemed twice; by default the emulator allows it.</summary>
    public bool SingleUseTokens { get; init; }

    /// <summary>Calls allowed per <see cref="RateLimitWindow"/> before answering 429.</summary>
    public int RateLimit { get; init; } = 100_000;

    public TimeSpan RateLimitWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Faults active from the start; <c>PUT /emulator/faults</c> replaces them at run time.</summary>
    public FaultSettings Faults { get; init; } = FaultSettings.None;

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            yield return "Emulator:ApiKey must not be empty.";
        }

        if (TokenLifetime <= TimeSpan.Zero)
        {
            yield return "Emulator:TokenLifetime must be positive.";
        }

        if (RateLimit < 1)
        {
            yield return "Emulator:RateLimit must be at least 1.";
        }

        if (RateLimitWindow < TimeSpan.FromSeconds(1))
        {
            yield return "Emulator:RateLimitWindow must be at least one second.";
        }

        foreach (var problem in Faults.Problems())
        {
            yield return $"Emulator:Faults: {problem}";
        }
    }
}
