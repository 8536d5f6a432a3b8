namespace Kombo.Contracts;

/// <summary>
/// Exchanges the short-lived token returned by <c>showKomboConnect(link)</c> for the integration
/// (<c>GET /connect/integration-by-token/{token}</c>).
/// Answered by <see cref="IntegrationConnected"/> or <see cref="ConnectTokenRedemptionFailed"/>.
/// </summary>
public sealed record RedeemConnectToken
{
    /// <summary>Chosen by the caller; every answer carries it.</summary>
    public Guid CorrelationId { get; init; }

    /// <summary>The token from the Connect flow. A credential: never logged, stored only as a hash.</summary>
    public string? Token { get; init; }

    /// <summary>
    /// The customer the caller believes is connecting; required unless <see cref="SkipOriginCheck"/> is set. An
    /// integration whose origin id differs (or is null) is refused with <see cref="FailureReasons.OriginMismatch"/> and
    /// announced to no one.
    /// </summary>
    public string? ExpectedEndUserOriginId { get; init; }

    /// <summary>
    /// Redeem without <see cref="ExpectedEndUserOriginId"/>, accepting whatever end user the token belongs to. The
    /// answer then says <c>OriginVerified = false</c>.
    /// </summary>
    public bool SkipOriginCheck { get; init; }
}
