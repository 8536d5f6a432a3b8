namespace Kombo.Contracts;

/// <summary>
/// An integration was deleted in Kombo (<c>integration-deleted</c>); drop its id. The worker forgets it too, so a new
/// link for that tool is allowed again.
/// </summary>
public sealed record IntegrationDeleted
{
    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    public string Category { get; init; } = "";

    public string? EndUserOriginId { get; init; }

    public DateTimeOffset DeletedAt { get; init; }
}
