using System.Globalization;

namespace Kombo.Benchmark;

/// <summary>
/// One of the worker's relay histograms (meter Kombo.Worker, seconds, read as ms) read from its Prometheus endpoint.
/// Quantiles are estimated from the buckets the way PromQL's histogram_quantile does (linear within a bucket), so they
/// are as fine as the bucket bounds.
/// </summary>
public sealed record HistogramSnapshot(IReadOnlyList<(double UpperBound, double Cumulative)> Buckets)
{
    public double Count => Buckets.Count == 0 ? 0 : Buckets[^1].Cumulative;

    public static HistogramSnapshot Empty { get; } = new([]);

    /// <summary>What was recorded between <paramref name="earlier"/> and this snapshot.</summary>
    public HistogramSnapshot Minus(HistogramSnapshot earlier)
    {
        if (earlier.Buckets.Count == 0)
        {
            return this;
        }

        var before = earlier.Buckets.ToDictionary(b => b.UpperBound, b => b.Cumulative);
        return new([.. Buckets.Select(b => (b.UpperBound, b.Cumulative - before.GetValueOrDefault(b.UpperBound)))]);
    }

    /// <summary>Both histograms in one, as if one process had recorded them (the bucket bounds are the worker's).</summary>
    public HistogramSnapshot Plus(HistogramSnapshot other)
    {
        var sum = Buckets.ToDictionary(b => b.UpperBound, b => b.Cumulative);
        foreach (var (bound, cumulative) in other.Buckets)
        {
            sum[bound] = sum.GetValueOrDefault(bound) + cumulative;
        }

        return new([.. sum.OrderBy(b => b.Key).Select(b => (b.Key, b.Value))]);
    }

    public double? Quantile(double q)
    {
        if (Count <= 0)
        {
            return null;
        }

        var rank = q * Count;
        var lower = 0.0;
        var below = 0.0;
        foreach (var (upper, cumulative) in Buckets)
        {
            if (cumulative >= rank)
            {
                if (double.IsPositiveInfinity(upper))
                {
                    return lower;
                }

                var inBucket = cumulative - below;
                return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below) / inBucket);
            }

            lower = upper;
            below = cumulative;
        }

        return lower;
    }
}

/// <summary>
/// The relay's two latency histograms from one scrape: commit to confirm (<c>kombo.worker.outbox.relay_latency</c>) and
/// the broker's share of it, publish to confirm (<c>kombo.worker.outbox.confirm_latency</c>).
/// </summary>
public sealed record RelayHistograms(HistogramSnapshot CommitToConfirm, HistogramSnapshot PublishToConfirm)
{
    public static RelayHistograms Empty { get; } = new(HistogramSnapshot.Empty, HistogramSnapshot.Empty);

    public RelayHistograms Minus(RelayHistograms earlier) =>
        new(CommitToConfirm.Minus(earlier.CommitToConfirm), PublishToConfirm.Minus(earlier.PublishToConfirm));

    public RelayHistograms Plus(RelayHistograms other) =>
        new(CommitToConfirm.Plus(other.CommitToConfirm), PublishToConfirm.Plus(other.PublishToConfirm));
}

public sealed class MetricsScraper(Uri workerUrl)
{

    private readonly HttpClient _http = new() { BaseAddress = workerUrl, Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>False when the worker has no /metrics endpoint (or no relay latency histogram on it).</summary>
    public bool Available { get; private set; } = true;

    public async Task<RelayHistograms> RelayLatencyAsync(CancellationToken cancellationToken)
    {
        if (!Available)
        {
            return RelayHistograms.Empty;
        }

        string text;
        try
        {
            using var response = await _http.GetAsync("metrics", cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                Available = false;
                return RelayHistograms.Empty;
            }

            text = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            Available = false;
            return RelayHistograms.Empty;
        }

        return new(Parse(text, "relay_latency"), Parse(text, "confirm_latency"));
    }

    /// <summary>Sums the <c>*{family}*_bucket{le="..."}</c> series over their other labels.</summary>
    public static HistogramSnapshot Parse(string exposition, string family)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#') || !line.Contains(family, StringComparison.Ordinal))
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var name = brace < 0 ? line.Split(' ')[0] : line[..brace];
            if (!name.EndsWith("_bucket", StringComparison.Ordinal))
            {
                continue;
            }

            var le = line.IndexOf("le=\"", StringComparison.Ordinal);
            var close = le < 0 ? -1 : line.IndexOf('"', le + 4);
            var valueStart = line.LastIndexOf('}');
            if (le < 0 || close < 0 || valueStart < 0)
            {
                continue;
            }

            // The worker records seconds (OpenTelemetry's unit for durations); the benchmark reports milliseconds.
            var scale = line.Contains(family + "_seconds", StringComparison.Ordinal) ? 1000 : 1;
            var bound = line[(le + 4)..close] == "+Inf" ? double.PositiveInfinity : double.Parse(line[(le + 4)..close], CultureInfo.InvariantCulture) * scale;
            var fields = line[(valueStart + 1)..].Trim().Split(' ');
            if (double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                buckets[bound] = buckets.GetValueOrDefault(bound) + value;
            }
        }

        return new([.. buckets.Select(b => (b.Key, b.Value))]);
    }
}
