namespace Kombo.Contracts;

/// <summary>The machine-readable reasons carried by the failure events. The list may grow; treat it as open.</summary>
public static class FailureReasons
{
    /// <summary>The command failed validation; nothing was sent to Kombo.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>
    /// The end user already has this tool connected and the command did not allow another; the failure names the
    /// integrations. Offer a reconnection link (<see cref="CreateReconnectionLink"/>) instead of a second integration.
    /// </summary>
    public const string AlreadyConnected = "already_connected";

    /// <summary>Kombo refused the call for good (bad input, bad key, ...): see the Kombo error code.</summary>
    public const string KomboRejected = "kombo_rejected";

    /// <summary>Kombo stayed unreachable or overloaded through every retry and redelivery. Retryable.</summary>
    public const string KomboUnavailable = "kombo_unavailable";

    /// <summary>
    /// Kombo does not know the connect token, or it has expired, and no earlier attempt of the worker can have used it.
    /// </summary>
    public const string TokenInvalidOrExpired = "token_invalid_or_expired";

    /// <summary>
    /// Kombo answered "invalid or expired" after an earlier attempt of the worker may already have redeemed the token,
    /// and no <c>integration-created</c> webhook settled it in time (or webhooks are off). The integration may exist:
    /// look for it in Kombo's dashboard under the expected end user before asking the end user to connect again. Not
    /// retryable: the token is spent either way.
    /// </summary>
    public const string OutcomeUnknown = "outcome_unknown";

    /// <summary>
    /// Kombo refused the worker's API key (401/403: invalid, rotated, or the worker's IP is not allowed). The operator's
    /// problem, not the command's: retryable once the key is fixed; <c>/health/ready</c> reports it too.
    /// </summary>
    public const string KomboUnauthorized = "kombo_unauthorized";

    /// <summary>The integration belongs to another end user than the command expected; nothing was recorded.</summary>
    public const string OriginMismatch = "origin_mismatch";

    /// <summary>Kombo does not know the integration (never created, or deleted).</summary>
    public const string IntegrationNotFound = "integration_not_found";
}
