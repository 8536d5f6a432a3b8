using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Faults;

/// <summary>The faults in force. Settings and dice are swapped together as one immutable pair, so readers need no lock.</summary>
public sealed class ActiveFaults(IOptions<EmulatorOptions> options)
{
    private volatile Current _current = Current.For(options.Value.Faults);

    public FaultSettings Settings => _current.Settings;

    public (FaultSettings Settings, FaultDice Dice) Snapshot()
    {
        var current = _current;
        return (current.Settings, current.Dice);
    }

    public void Replace(FaultSettings settings) => _current = Current.For(settings);

    public void Clear() => Replace(FaultSettings.None);

    private sealed record Current(FaultSettings Settings, FaultDice Dice)
    {
        public static Current For(FaultSettings settings) =>
            new(settings, new FaultDice(settings.Seed ?? Random.Shared.Next()));
    }
}
