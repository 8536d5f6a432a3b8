namespace Kombo.Emulator.Webhooks;

/// <summary>
/// What goes wrong with webhook deliveries. The same snake_case names are used in the <c>/emulator/webhooks/faults</c>
/// JSON and in the <c>Emulator:WebhookFaults</c> configuration section.
/// </summary>
public sealed record WebhookFaultSettings
{
    // A fresh instance each time: the configuration binder writes into the object it finds, even an init-only one.
    public static WebhookFaultSettings None => new();

    /// <summary>Share of acknowledged webhooks delivered once more, right after, with the same id and body.</summary>
    [ConfigurationKeyName("duplicate_rate")]
    public double DuplicateRate { get; init; }

    /// <summary>Wait before every delivery attempt.</summary>
    [ConfigurationKeyName("delay_ms")]
    public int DelayMs { get; init; }

    /// <summary>Share of webhooks held back and delivered after the next webhook of the same integration.</summary>
    [ConfigurationKeyName("reorder_rate")]
    public double ReorderRate { get; init; }

    /// <summary>How long a held-back webhook waits for a next one before it goes anyway.</summary>
    [ConfigurationKeyName("reorder_hold_ms")]
    public int ReorderHoldMs { get; init; } = 2_000;

    /// <summary>Makes the fault sequence repeatable for the same order of webhooks.</summary>
    [ConfigurationKeyName("seed")]
    public int? Seed { get; init; }

    public IEnumerable<string> Problems()
    {
        foreach (var (name, share) in new[] { ("duplicate_rate", DuplicateRate), ("reorder_rate", ReorderRate) })
        {
            if (share is < 0 or > 1 || double.IsNaN(share))
            {
                yield return $"{name} must be between 0 and 1.";
            }
        }

        if (DelayMs < 0 || ReorderHoldMs < 0)
        {
            yield return "delay_ms and reorder_hold_ms must not be negative.";
        }
    }
}
