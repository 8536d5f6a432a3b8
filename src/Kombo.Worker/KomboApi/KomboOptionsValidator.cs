using Microsoft.Extensions.Options;

namespace Kombo.Worker.KomboApi;

/// <summary>Checks <see cref="KomboOptions"/> at start-up, within the ranges Polly's strategies accept.</summary>
internal sealed class KomboOptionsValidator : IValidateOptions<KomboOptions>
{
    public const string MissingApiKey =
        "Kombo:ApiKey is missing: set the Kombo__ApiKey environment variable (or point Kombo__BaseUrl at the emulator with its key)";

    public const int MinWebhookSecretLength = 16;

    private static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxSpan = TimeSpan.FromDays(1);
    private static readonly TimeSpan MinCircuitSpan = TimeSpan.FromMilliseconds(500);

    public ValidateOptionsResult Validate(string? name, KomboOptions options)
    {
        string?[] failures =
        [
            ApiKeyProblem(options.ApiKey),
            WebhookSecretProblem(options.WebhookSecret),
            IsHttpUrl(options.BaseUrl) ? null : $"Kombo:BaseUrl must be an absolute http(s) URL such as https://api.kombo.dev/v1/ (got '{options.BaseUrl}').",
            InRange(nameof(options.AttemptTimeout), options.AttemptTimeout, MinTimeout, MaxSpan),
            InRange(nameof(options.TotalTimeout), options.TotalTimeout, MinTimeout, MaxSpan),
            options.AttemptTimeout > options.TotalTimeout ? "Kombo:AttemptTimeout must not be longer than Kombo:TotalTimeout." : null,
            options.MaxRetryAttempts is < 0 or > 100 ? "Kombo:MaxRetryAttempts must be between 0 and 100." : null,
            InRange(nameof(options.RetryBaseDelay), options.RetryBaseDelay, TimeSpan.Zero, MaxSpan),
            InRange(nameof(options.RetryMaxDelay), options.RetryMaxDelay, TimeSpan.Zero, MaxSpan),
            options.RetryMaxDelay < options.RetryBaseDelay ? "Kombo:RetryMaxDelay must not be shorter than Kombo:RetryBaseDelay." : null,
            options.CircuitBreakerFailureRatio is > 0 and <= 1 ? null : "Kombo:CircuitBreakerFailureRatio must be greater than 0 and at most 1.",
            options.CircuitBreakerMinimumThroughput < 2 ? "Kombo:CircuitBreakerMinimumThroughput must be at least 2." : null,
            InRange(nameof(options.CircuitBreakerSamplingDuration), options.CircuitBreakerSamplingDuration, MinCircuitSpan, MaxSpan),
            InRange(nameof(options.CircuitBreakerBreakDuration), options.CircuitBreakerBreakDuration, MinCircuitSpan, MaxSpan),
            options.MaxConnectionsPerServer < 1 ? "Kombo:MaxConnectionsPerServer must be at least 1." : null,
            InRange(nameof(options.RedemptionSettleWindow), options.RedemptionSettleWindow, TimeSpan.Zero, MaxSpan),
            InRange(nameof(options.ConnectTokenLifetime), options.ConnectTokenLifetime, TimeSpan.Zero, MaxSpan),
            InRange(nameof(options.ApiKeyCheckInterval), options.ApiKeyCheckInterval, TimeSpan.FromSeconds(1), MaxSpan),
        ];

        var found = failures.OfType<string>().ToList();
        return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
    }

    private static string? ApiKeyProblem(string? key) =>
        string.IsNullOrWhiteSpace(key) ? MissingApiKey
        : key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? "Kombo:ApiKey must not contain white space or control characters."
        : null;

    // Empty turns webhooks off; anything else must be a secret worth the name, or a typo could turn the listener on
    // with a key an attacker can guess.
    private static string? WebhookSecretProblem(string? secret) =>
        string.IsNullOrEmpty(secret) || (secret.Length >= MinWebhookSecretLength && !secret.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            ? null
            : $"Kombo:WebhookSecret must be at least {MinWebhookSecretLength} characters with no white space (got {secret.Length} characters); leave it empty to turn webhooks off.";

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private static string? InRange(string name, TimeSpan value, TimeSpan min, TimeSpan max) =>
        value >= min && value <= max ? null : $"Kombo:{name} must be between {min} and {max} (got {value}).";
}
