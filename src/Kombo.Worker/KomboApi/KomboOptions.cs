using System.Text;

namespace Kombo.Worker.KomboApi;

/// <summary>Settings of the Kombo client and its resilience pipeline, bound from the <c>Kombo</c> section.</summary>
internal sealed record KomboOptions
{
    public const string SectionName = "Kombo";

    public string BaseUrl { get; init; } = "https://api.kombo.dev/v1/";

    public string ApiKey { get; init; } = "";

    /// <summary>Limit for one HTTP attempt; a slower attempt counts as a transient failure and is retried.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Limit for one call, all attempts and back-off included.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int MaxRetryAttempts { get; init; } = 4;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    public double CircuitBreakerFailureRatio { get; init; } = 0.5;

    public int CircuitBreakerMinimumThroughput { get; init; } = 20;

    public TimeSpan CircuitBreakerSamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan CircuitBreakerBreakDuration { get; init; } = TimeSpan.FromSeconds(15);

    public int MaxConnectionsPerServer { get; init; } = 64;

    /// <summary>Redeem tokens with the deprecated <c>POST /connect/activate-integration</c> instead of by-token.</summary>
    public bool UseActivateIntegration { get; init; }

    /// <summary>
    /// The secret Kombo signs its webhooks with (Kombo's dashboard shows it beside the webhook URL). Set, the worker
    /// receives webhooks on <c>Webhooks:Urls</c>; empty, it does not listen for them.
    /// </summary>
    public string? WebhookSecret { get; init; }

    /// <summary>
    /// How long a redemption whose outcome is uncertain (an earlier attempt may have spent the single-use token) waits
    /// for the <c>integration-created</c> webhook that settles it before it is answered <c>outcome_unknown</c>.
    /// </summary>
    public TimeSpan RedemptionSettleWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long Kombo's connect tokens live (Kombo only says "short lived"): an integration-created webhook settles an
    /// uncertain redemption only if it was received within this span of the redemption's first attempt.
    /// </summary>
    public TimeSpan ConnectTokenLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the worker checks its API key with <c>GET /check-api-key</c> (and once at start).</summary>
    public TimeSpan ApiKeyCheckInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The base URL with a trailing slash, so that relative paths keep its last segment (<c>/v1</c>).</summary>
    public Uri GetBaseAddress() => new(BaseUrl.EndsWith('/') ? BaseUrl : BaseUrl + "/", UriKind.Absolute);

    // The generated record ToString would print the API key into any log line that formats the options.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"BaseUrl = {BaseUrl}, ApiKey = {(string.IsNullOrEmpty(ApiKey) ? "(missing)" : "***")}, ");
        builder.Append($"AttemptTimeout = {AttemptTimeout}, TotalTimeout = {TotalTimeout}, MaxRetryAttempts = {MaxRetryAttempts}, ");
        builder.Append($"UseActivateIntegration = {UseActivateIntegration}, WebhookSecret = {(string.IsNullOrEmpty(WebhookSecret) ? "(none)" : "***")}");
        return true;
    }
}
