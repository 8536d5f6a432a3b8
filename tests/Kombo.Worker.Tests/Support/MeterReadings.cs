using System.Diagnostics.Metrics;

namespace Kombo.Worker.Tests.Support;

/// <summary>Records what the instruments of one <see cref="Meter"/> report, gauges included on <see cref="Observe"/>.</summary>
internal sealed class MeterReadings : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];
    private readonly Lock _lock = new();

    public MeterReadings(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, _) => Record(i, value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, _) => Record(i, value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, _) => Record(i, value, tags));
        _listener.Start();
    }

    /// <summary>Reads every observable gauge once and returns the value each reported, by instrument name.</summary>
    public Dictionary<string, double> Observe()
    {
        lock (_lock)
        {
            _measurements.Clear();
        }

        _listener.RecordObservableInstruments();
        lock (_lock)
        {
            return _measurements.GroupBy(m => m.Instrument).ToDictionary(g => g.Key, g => g.Last().Value);
        }
    }

    /// <summary>The sum of what <paramref name="instrument"/> recorded with all of <paramref name="tags"/>.</summary>
    public double Sum(string instrument, params (string Key, object Value)[] tags)
    {
        lock (_lock)
        {
            return _measurements
                .Where(m => m.Instrument == instrument)
                .Where(m => tags.All(t => m.Tags.Any(tag => tag.Key == t.Key && Equals(tag.Value, t.Value))))
                .Sum(m => m.Value);
        }
    }

    public IReadOnlyList<KeyValuePair<string, object?>[]> TagsOf(string instrument)
    {
        lock (_lock)
        {
            return _measurements.Where(m => m.Instrument == instrument).Select(m => m.Tags).ToList();
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = tags.ToArray();
        lock (_lock)
        {
            _measurements.Add((instrument.Name, value, copy));
        }
    }
}
