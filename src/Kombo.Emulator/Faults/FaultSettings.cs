using System.Text.Json.Serialization;

namespace Kombo.Emulator.Faults;

/// <summary>
/// What goes wrong on <c>/v1</c> calls. Shares are probabilities from 0 to 1. The same snake_case names are used in
/// the <c>/emulator/faults</c> JSON and in the <c>Emulator:Faults</c> configuration section.
/// </summary>
public sealed record FaultSettings
{
    // A fresh instance each time: the configuration binder writes into the object it finds, even an init-only one.
    public static FaultSettings None => new();

    /// <summary>Delay added to every <c>/v1</c> call.</summary>
    [ConfigurationKeyName("latency_ms")]
    public int LatencyMs { get; init; }

    /// <summary>Share of calls answered 500/502 with <c>PLATFORM.UNKNOWN_ERROR</c> (or a plain 503, see below).</summary>
    [ConfigurationKeyName("error_rate")]
    public double ErrorRate { get; init; }

    /// <summary>Share of the <see cref="ErrorRate"/> faults that are a load balancer's HTML 503 with no JSON.</summary>
    [ConfigurationKeyName("plain_text_503_share")]
    [JsonPropertyName("plain_text_503_share")]
    public double PlainText503Share { get; init; }

    /// <summary>Share of calls answered 429 <c>PLATFORM.RATE_LIMIT_EXCEEDED</c>.</summary>
    [ConfigurationKeyName("rate_limit_rate")]
    public double RateLimitRate { get; init; }

    /// <summary>Share of those 429 that carry <c>Retry-After</c>; the others only carry <c>ratelimit-reset</c>.</summary>
    [ConfigurationKeyName("retry_after_share")]
    public double RetryAfterShare { get; init; }

    /// <summary>Value of <c>Retry-After</c> and of <c>ratelimit-reset</c> on injected 429s.</summary>
    [ConfigurationKeyName("retry_after_seconds")]
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>Share of calls that hang for <see cref="HangMs"/> or until the client gives up.</summary>
    [ConfigurationKeyName("hang_rate")]
    public double HangRate { get; init; }

    [ConfigurationKeyName("hang_ms")]
    public int HangMs { get; init; } = 300_000;

    /// <summary>Makes the fault sequence repeatable for the same order of calls.</summary>
    [ConfigurationKeyName("seed")]
    public int? Seed { get; init; }

    [JsonIgnore]
    public bool InjectsNothing => LatencyMs == 0 && ErrorRate == 0 && RateLimitRate == 0 && HangRate == 0;

    public IEnumerable<string> Problems()
    {
        foreach (var (name, share) in new[]
        {
            ("error_rate", ErrorRate), ("plain_text_503_share", PlainText503Share), ("rate_limit_rate", RateLimitRate),
            ("retry_after_share", RetryAfterShare), ("hang_rate", HangRate),
        })
        {
            if (share is < 0 or > 1 || double.IsNaN(share))
            {
                yield return $"{name} must be between 0 and 1.";
            }
        }

        if (LatencyMs < 0)
        {
            yield return "latency_ms must not be negative.";
        }

        if (RetryAfterSeconds < 0)
        {
            yield return "retry_after_seconds must not be negative.";
        }

        if (HangMs < 0)
        {
            yield return "hang_ms must not be negative.";
        }
    }
}
