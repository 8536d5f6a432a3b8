using Kombo.Emulator.Faults;
using Kombo.Emulator.Webhooks;

namespace Kombo.Emulator;

/// <summary>The <c>Emulator</c> configuration section.</summary>
public sealed record EmulatorOptions
{
    public const string SectionName = "Emulator";

    /// <summary>The key every <c>/v1</c> call must send as <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public string ApiKey { get; init; } = "emulator-key";

    /// <summary>How long a connect token handed to the end user stays redeemable.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Kombo likens the token exchange to OAuth2's code flow, whose codes redeem once: so does the emulator's, unless
    /// this is set to false.
    /// </summary>
    public bool SingleUseTokens { get; init; } = true;

    /// <summary>Calls allowed per <see cref="RateLimitWindow"/> before answering 429.</summary>
    public int RateLimit { get; init; } = 100_000;

    public TimeSpan RateLimitWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Faults active from the start; <c>PUT /emulator/faults</c> replaces them at run time.</summary>
    public FaultSettings Faults { get; init; } = FaultSettings.None;

    /// <summary>What <c>GET /v1/check-api-key</c> answers as <c>environment_id</c>.</summary>
    public string EnvironmentId { get; init; } = "emulator-environment";

    /// <summary>Where webhooks are POSTed (absolute http or https); none, no webhooks are sent.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>Signs every webhook (<c>X-Kombo-Signature</c>); required with <see cref="WebhookUrl"/>.</summary>
    public string? WebhookSecret { get; init; }

    /// <summary>Webhook faults active from the start; <c>PUT /emulator/webhooks/faults</c> replaces them at run time.</summary>
    public WebhookFaultSettings WebhookFaults { get; init; } = WebhookFaultSettings.None;

    /// <summary>How a webhook that was not answered 2xx is delivered again.</summary>
    public WebhookRetryOptions WebhookRetry { get; init; } = new();

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

        foreach (var problem in WebhookProblems())
        {
            yield return problem;
        }
    }

    private IEnumerable<string> WebhookProblems()
    {
        if (WebhookUrl is not null
            && (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            yield return "Emulator:WebhookUrl must be an absolute http or https URL.";
        }

        if (WebhookUrl is not null && string.IsNullOrEmpty(WebhookSecret))
        {
            yield return "Emulator:WebhookSecret is required when Emulator:WebhookUrl is set.";
        }

        foreach (var problem in WebhookFaults.Problems())
        {
            yield return $"Emulator:WebhookFaults: {problem}";
        }

        foreach (var problem in WebhookRetry.Problems())
        {
            yield return $"Emulator:WebhookRetry: {problem}";
        }
    }
}
