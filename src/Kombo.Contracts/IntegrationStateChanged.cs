namespace Kombo.Contracts;

/// <summary>
/// An integration's state changed (<c>integration-state-changed</c>). <c>INVALID</c> means its credentials stopped
/// working: offer the end user a reconnection link (<see cref="CreateReconnectionLink"/>). Only changes newer than the
/// last one the worker stored are published.
/// </summary>
public sealed record IntegrationStateChanged
{
    public string IntegrationId { get; init; } = "";

    public string Tool { get; init; } = "";

    public string? EndUserOriginId { get; init; }

    /// <summary><c>ACTIVE</c>, <c>INVALID</c> or <c>INACTIVE</c>.</summary>
    public string State { get; init; } = "";

    /// <summary><c>INCOMPLETE</c>, <c>FINAL_SYNC_PENDING</c> or <c>COMPLETED</c>, when Kombo sent it.</summary>
    public string? SetupStatus { get; init; }

    /// <summary><c>PENDING</c>, <c>FAILED</c> or <c>PASSED</c>.</summary>
    public string QaStatus { get; init; } = "";

    /// <summary>Kombo's time of the change.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}
