using System.Globalization;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>What one chaos scenario did and found: one row of the summary table that scripts/chaos.sh prints.</summary>
public sealed record ChaosOutcome
{
    public required string Scenario { get; init; }

    public required int Commands { get; init; }

    /// <summary>Worker kills and restarts, broker restarts or disk outages: the faults the scenario injected.</summary>
    public string Disruptions { get; init; } = "0";

    /// <summary>Commands acknowledged yet without any answer (event or error-queue entry).</summary>
    public int Lost { get; init; }

    public int DuplicateRows { get; init; }

    /// <summary>Extra deliveries of an event already seen (same correlation id); they must carry the first copy's id.</summary>
    public int DuplicateEvents { get; init; }

    /// <summary>Commands still without an answer when the scenario gave up waiting.</summary>
    public int Unanswered { get; init; }

    public TimeSpan Duration { get; init; }

    /// <summary><c>integration-by-token</c> calls per redemption command (single-use tokens: above 1 means asked twice).</summary>
    public string ByTokenCallsPerRedemption { get; init; } = "-";

    public string Notes { get; init; } = "";
}

/// <summary>
/// Appends each scenario's row to <c>artifacts/chaos/results.tsv</c> (or <c>$KOMBO_CHAOS_RESULTS</c>) and to the test
/// output. Rows are written before the scenario asserts, so a failed run still shows what was found.
/// </summary>
public static class ChaosReport
{
    public const string ResultsVariable = "KOMBO_CHAOS_RESULTS";

    public const string Header = "scenario\tscale\tcommands\tkills/restarts\tlost\tduplicate rows\tduplicate events\tunanswered\tseconds\tby-token/redeem\tnotes";

    private static readonly Lock Gate = new();

    public static string ResultsFile =>
        Environment.GetEnvironmentVariable(ResultsVariable) is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(BuildPaths.RepositoryRoot, "artifacts", "chaos", "results.tsv");

    public static void Record(ITestOutputHelper output, ChaosOutcome outcome)
    {
        var row = string.Join('\t',
            outcome.Scenario,
            ChaosScale.Current.Name,
            outcome.Commands.ToString(CultureInfo.InvariantCulture),
            outcome.Disruptions,
            outcome.Lost.ToString(CultureInfo.InvariantCulture),
            outcome.DuplicateRows.ToString(CultureInfo.InvariantCulture),
            outcome.DuplicateEvents.ToString(CultureInfo.InvariantCulture),
            outcome.Unanswered.ToString(CultureInfo.InvariantCulture),
            outcome.Duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture),
            outcome.ByTokenCallsPerRedemption,
            outcome.Notes.Replace('\t', ' ').Replace('\n', ' '));

        output.WriteLine(Header);
        output.WriteLine(row);
        lock (Gate)
        {
            var file = ResultsFile;
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            if (!File.Exists(file))
            {
                File.WriteAllText(file, Header + Environment.NewLine);
            }

            File.AppendAllText(file, row + Environment.NewLine);
        }
    }
}
