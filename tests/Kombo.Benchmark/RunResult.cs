using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Kombo.Benchmark;

/// <summary>One run's figures; <see cref="ToJsonLine"/> writes the JSON line of docs/benchmarking.md (then a few extra keys).</summary>
public sealed record RunResult
{
    public required RunConfiguration Configuration { get; init; }

    public required int Concurrency { get; init; }

    public int ReceivedDistinct { get; init; }

    public int Duplicates { get; init; }

    public int Lost { get; init; }

    public double Seconds { get; init; }

    public double ThroughputPerSecond { get; init; }

    public double LatencyP50Ms { get; init; }

    public double LatencyP99Ms { get; init; }

    /// <summary>The highest peak RSS of one worker process.</summary>
    public double WorkerPeakRssMb { get; init; }

    /// <summary>The peak RSS of all the run's worker processes added up.</summary>
    public double WorkersPeakRssMb { get; init; }

    /// <summary>CPU time of the PostgreSQL server (all its processes) during the run; null on SQLite, which runs inside the worker.</summary>
    public double? DatabaseCpuSeconds { get; init; }

    public int Failures { get; init; }

    public double? RelayP50Ms { get; init; }

    public double? RelayP99Ms { get; init; }

    /// <summary>The broker's share of the relay latency: from the start of a publish to its confirm.</summary>
    public double? ConfirmP50Ms { get; init; }

    public double? ConfirmP99Ms { get; init; }

    public double? WorkerCpuSeconds { get; init; }

    /// <summary>Commands the worker handled before the measured ones (not counted).</summary>
    public int Warmup { get; init; }

    public string ToJsonLine()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("workload", Configuration.Workload);
            json.WriteNumber("n", Configuration.N);
            json.WriteNumber("latency_ms", Configuration.LatencyMs);
            json.WriteNumber("concurrency", Concurrency);
            json.WriteNumber("received_distinct", ReceivedDistinct);
            json.WriteNumber("duplicates", Duplicates);
            json.WriteNumber("lost", Lost);
            json.WriteNumber("seconds", Math.Round(Seconds, 3));
            json.WriteNumber("throughput_per_s", Math.Round(ThroughputPerSecond, 1));
            Number(json, "latency_ms_p50", LatencyP50Ms);
            Number(json, "latency_ms_p99", LatencyP99Ms);
            json.WriteNumber("worker_peak_rss_mb", Math.Round(WorkerPeakRssMb, 1));
            // After the original keys: how the run was made, and the worker's own relay latency (all in docs/benchmarking.md).
            json.WriteString("outbox", Configuration.BypassOutbox ? "bypass" : "on");
            json.WriteString("pacing", Configuration.OneAtATime ? "one-at-a-time" : "burst");
            json.WriteNumber("warmup", Warmup);
            json.WriteNumber("failure_events", Failures);
            Number(json, "relay_latency_ms_p50", RelayP50Ms);
            Number(json, "relay_latency_ms_p99", RelayP99Ms);
            Number(json, "worker_cpu_s", WorkerCpuSeconds);
            json.WriteString("storage", Configuration.PostgreSql ? "postgresql" : "sqlite");
            json.WriteNumber("instances", Configuration.Instances);
            json.WriteNumber("workers_peak_rss_mb", Math.Round(WorkersPeakRssMb, 1));
            Number(json, "database_cpu_s", DatabaseCpuSeconds);
            Number(json, "confirm_latency_ms_p50", ConfirmP50Ms);
            Number(json, "confirm_latency_ms_p99", ConfirmP99Ms);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Number(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v))
        {
            json.WriteNumber(name, Math.Round(v, 1));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}

/// <summary>The Markdown table: one row per configuration, each figure the median of its runs.</summary>
public static class ResultsTable
{
    public static string Render(IReadOnlyList<RunResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| configuration | runs | n | C | received | dup (max) | lost (max) | s | events/s | p50 ms | p99 ms | relay p50 ms | relay p99 ms | confirm p99 ms | worker RSS MB | worker CPU s | worker CPU s / 1k cmd | PostgreSQL CPU s / 1k cmd |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => r.Configuration.Label))
        {
            var runs = group.ToList();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key} | {runs.Count} | {runs[0].Configuration.N} | {runs[0].Concurrency} | {Median(runs, r => r.ReceivedDistinct):0} | " +
                $"{runs.Max(r => r.Duplicates)} | {runs.Max(r => r.Lost)} | {Median(runs, r => r.Seconds):0.00} | " +
                $"{Median(runs, r => r.ThroughputPerSecond):0} | {Median(runs, r => r.LatencyP50Ms):0.0} | {Median(runs, r => r.LatencyP99Ms):0.0} | " +
                $"{Show(Median(runs, r => r.RelayP50Ms))} | {Show(Median(runs, r => r.RelayP99Ms))} | {Show(Median(runs, r => r.ConfirmP99Ms))} | " +
                $"{Median(runs, r => r.WorkerPeakRssMb):0} | {Show(Median(runs, r => r.WorkerCpuSeconds))} | " +
                $"{Show(Median(runs, r => r.WorkerCpuSeconds * 1000 / r.Configuration.N), "0.00")} | " +
                $"{Show(Median(runs, r => r.DatabaseCpuSeconds * 1000 / r.Configuration.N), "0.00")} |"));
        }

        var outbox = results.Where(r => r.Configuration is { Workload: "W1", LatencyMs: 0, BypassOutbox: false, OneAtATime: false }).ToList();
        var bypass = results.Where(r => r.Configuration is { Workload: "W1", LatencyMs: 0, BypassOutbox: true, OneAtATime: false }).ToList();
        if (outbox.Count > 0 && bypass.Count > 0)
        {
            var ratio = Median(outbox, r => r.ThroughputPerSecond) / Median(bypass, r => r.ThroughputPerSecond);
            text.AppendLine();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"Outbox / bypass throughput (W1 L=0, medians): {ratio:0.00} (outbox costs {(1 - ratio) * 100:0}%)."));
        }

        return text.ToString();
    }

    private static double Median(IEnumerable<RunResult> runs, Func<RunResult, double> value) =>
        Median(runs, r => (double?)value(r)) ?? double.NaN;

    private static double? Median(IEnumerable<RunResult> runs, Func<RunResult, double?> value)
    {
        var values = runs.Select(value).OfType<double>().Where(double.IsFinite).Order().ToList();
        if (values.Count == 0)
        {
            return null;
        }

        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private static string Show(double? value, string format = "0.0") =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";
}
