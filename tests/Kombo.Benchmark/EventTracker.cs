using System.Diagnostics;
using System.Text.Json;

namespace Kombo.Benchmark;

/// <summary>
/// Send and receive times per correlation id. Commands are numbered 0..N-1; the subscriber marks each first
/// arrival (distinct) and counts every later one (duplicate).
/// </summary>
public sealed class EventTracker
{
    private readonly Dictionary<Guid, int> _index;
    private readonly long[] _sentAt;
    private readonly long[] _receivedAt;
    private readonly SemaphoreSlim _arrived = new(0);
    private int _sent;
    private int _distinct;
    private int _duplicates;
    private int _failures;
    private int _unknown;
    private long _firstSent;
    private long _lastReceived;

    public EventTracker(int n)
    {
        CorrelationIds = new Guid[n];
        _index = new Dictionary<Guid, int>(n);
        for (var i = 0; i < n; i++)
        {
            CorrelationIds[i] = Guid.NewGuid();
            _index[CorrelationIds[i]] = i;
        }

        _sentAt = new long[n];
        _receivedAt = new long[n];
    }

    public Guid[] CorrelationIds { get; }

    public int N => CorrelationIds.Length;

    public int Sent => Volatile.Read(ref _sent);

    public int Distinct => Volatile.Read(ref _distinct);

    public int Duplicates => Volatile.Read(ref _duplicates);

    /// <summary>Failure events (ConnectLinkFailed, ...) for the run's commands.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Events whose correlation id this run never sent.</summary>
    public int Unknown => Volatile.Read(ref _unknown);

    public void MarkSending(int i)
    {
        var now = Stopwatch.GetTimestamp();
        _sentAt[i] = now;
        Interlocked.CompareExchange(ref _firstSent, now, 0);
    }

    public void MarkSent() => Interlocked.Increment(ref _sent);

    public bool HasArrived(int i) => Volatile.Read(ref _receivedAt[i]) != 0;

    /// <summary>Waits until another distinct event arrived (or the timeout passed).</summary>
    public Task<bool> WaitForArrivalAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _arrived.WaitAsync(timeout, cancellationToken);

    /// <summary>Called by the subscriber for each delivery (one at a time); false when the id is not one of this run's.</summary>
    public bool OnEvent(Guid correlationId, bool isFailure)
    {
        var now = Stopwatch.GetTimestamp();
        if (!_index.TryGetValue(correlationId, out var i))
        {
            return false;
        }

        if (isFailure)
        {
            Interlocked.Increment(ref _failures);
            return true;
        }

        if (_receivedAt[i] != 0)
        {
            Interlocked.Increment(ref _duplicates);
            return true;
        }

        Volatile.Write(ref _receivedAt[i], now);
        Volatile.Write(ref _lastReceived, now);
        Interlocked.Increment(ref _distinct);
        _arrived.Release();
        return true;
    }

    public void OnUnknownEvent() => Interlocked.Increment(ref _unknown);

    /// <summary>Seconds from the first command sent to the last distinct event received.</summary>
    public double Seconds => _lastReceived == 0 ? 0 : Stopwatch.GetElapsedTime(_firstSent, _lastReceived).TotalSeconds;

    public double SecondsSinceFirstSent => _firstSent == 0 ? 0 : Stopwatch.GetElapsedTime(_firstSent).TotalSeconds;

    /// <summary>Event received − command sent, in ms, of every distinct event, sorted.</summary>
    public double[] SortedLatenciesMs()
    {
        var latencies = new List<double>(N);
        for (var i = 0; i < N; i++)
        {
            if (_receivedAt[i] != 0)
            {
                latencies.Add(Stopwatch.GetElapsedTime(_sentAt[i], _receivedAt[i]).TotalMilliseconds);
            }
        }

        latencies.Sort();
        return [.. latencies];
    }

    /// <summary>The MassTransit envelope's <c>message.correlationId</c>.</summary>
    public static bool TryReadCorrelationId(ReadOnlySpan<byte> body, out Guid correlationId)
    {
        correlationId = default;
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            return document.RootElement.TryGetProperty("message", out var message)
                && message.TryGetProperty("correlationId", out var id)
                && id.TryGetGuid(out correlationId);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

public static class Percentiles
{
    /// <summary>Nearest-rank percentile of sorted values; NaN when there are none.</summary>
    public static double Of(double[] sorted, double percentile)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
