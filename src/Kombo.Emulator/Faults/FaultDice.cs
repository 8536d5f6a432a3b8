namespace Kombo.Emulator.Faults;

/// <summary>
/// Lock-free, thread-safe draws in [0, 1). Each draw hashes (seed, draw number) with SplitMix64, so a seeded run gives
/// the same faults for the same order of calls without sharing a <see cref="Random"/> behind a lock.
/// </summary>
public sealed class FaultDice(int seed)
{
    private long _draws;

    public double Next()
    {
        var n = (ulong)Interlocked.Increment(ref _draws);
        var z = unchecked(((ulong)(uint)seed << 32) + (n * 0x9E3779B97F4A7C15UL));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
