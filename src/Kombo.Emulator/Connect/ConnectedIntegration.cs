namespace Kombo.Emulator.Connect;

/// <summary>The flat <c>data</c> of integration-by-token and activate-integration.</summary>
public sealed record ConnectedIntegration(
    string Tool,
    string Id,
    string? EndUserOriginId,
    string EndUserOrganizationName,
    string? EndUserEmail,
    string SetupStatus)
{
    public static readonly IReadOnlySet<string> SetupStatuses =
        new HashSet<string>(["INCOMPLETE", "FINAL_SYNC_PENDING", "COMPLETED"], StringComparer.Ordinal);
}
