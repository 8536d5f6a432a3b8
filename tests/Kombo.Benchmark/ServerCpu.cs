using System.Globalization;

namespace Kombo.Benchmark;

/// <summary>
/// CPU time of a server and all its processes, from /proc: the postmaster's own, that of the backends it has reaped
/// (cutime, cstime) and that of the ones still running. PostgreSQL starts a backend per connection, so this is the
/// database's share of the machine, which SQLite spends inside the worker.
/// </summary>
public static class ServerCpu
{
    private const double ClockTicksPerSecond = 100;

    /// <summary>The CPU time of the server whose postmaster.pid is in <paramref name="clusterDirectory"/>; null if it cannot be read.</summary>
    public static TimeSpan? OfPostgreSql(string clusterDirectory)
    {
        try
        {
            var pid = int.Parse(File.ReadLines(Path.Combine(clusterDirectory, "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);
            var ticks = Fields(pid) is { } own ? Ticks(own, 11) + Ticks(own, 12) + Ticks(own, 13) + Ticks(own, 14) : 0;
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var child) && child != pid &&
                    Fields(child) is { } fields && Ticks(fields, 1) == pid)
                {
                    ticks += Ticks(fields, 11) + Ticks(fields, 12);
                }
            }

            return TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    // The fields of /proc/PID/stat after the command name in parentheses: [0] state, [1] ppid, ... [11] utime, [12] stime,
    // [13] cutime, [14] cstime.
    private static string[]? Fields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long Ticks(string[] fields, int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);
}
