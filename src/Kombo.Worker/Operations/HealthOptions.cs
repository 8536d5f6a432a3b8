using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Operations;

internal sealed record HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>Readiness fails once the oldest pending outbox row has waited this long.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "1.00:00:00")]
    public TimeSpan OutboxStuckAfter { get; init; } = TimeSpan.FromMinutes(5);
}
