namespace Kombo.Emulator.Integrations;

/// <summary>The closed value sets of an integration's state (Kombo's integration-state-changed webhook).</summary>
public static class IntegrationValues
{
    public const string Active = "ACTIVE";
    public const string QaPending = "PENDING";
    public const string DefaultCategory = "HRIS";

    public static readonly string[] States = [Active, "INVALID", "INACTIVE"];
    public static readonly string[] QaStatuses = [QaPending, "FAILED", "PASSED"];
}
