using Kombo.Emulator.Faults;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Webhooks;

/// <summary>The webhook faults in force; settings and dice swapped together, like <see cref="ActiveFaults"/>.</summary>
public sealed class ActiveWebhookFaults(IOptions<EmulatorOptions> options)
{
    private volatile Current _current = Current.For(options.Value.WebhookFaults);

    public WebhookFaultSettings Settings => _current.Settings;

    public (WebhookFaultSettings Settings, FaultDice Dice) Snapshot()
    {
        var current = _current;
        return (current.Settings, current.Dice);
    }

    public void Replace(WebhookFaultSettings settings) => _current = Current.For(settings);

    public void Clear() => Replace(WebhookFaultSettings.None);

    private sealed record Current(WebhookFaultSettings Settings, FaultDice Dice)
    {
        public static Current For(WebhookFaultSettings settings) =>
            new(settings, new FaultDice(settings.Seed ?? Random.Shared.Next()));
    }
}
