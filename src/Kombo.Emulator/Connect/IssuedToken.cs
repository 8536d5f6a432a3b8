namespace Kombo.Emulator.Connect;

/// <summary>A connect token as the end user's browser would receive it from <c>showKomboConnect</c>.</summary>
public sealed record IssuedToken(string Token, ConnectedIntegration Integration, DateTimeOffset ExpiresAt);
