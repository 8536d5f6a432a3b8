using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Operations;

internal sealed record HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>Readiness fails once the oldest pending outbox row has waited this long.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan OutboxStuckAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether the health endpoints show each check's description and data (database host and name, broker endpoints)
    /// besides its status. Off by default: anyone who reaches the port sees them. The repository's appsettings.json turns
    /// it on for local runs, which listen on 127.0.0.1; the container image turns it off again.
    /// </summary>
    public bool Details { get; init; }
}
