using System.Globalization;
using Kombo.Worker.Operations;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// Counts every refusal of the webhook listener, and lets one of them be logged per interval: a flood of forged
/// requests writes one warning and then "1,998 more refused in the last minute", not a line per request.
/// </summary>
internal sealed partial class WebhookRefusals(
    WorkerMetrics metrics, TimeProvider time, IOptions<WebhookOptions> options, ILogger<WebhookRefusals> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _unlogged = new(StringComparer.Ordinal);
    private ITimer? _window;

    /// <summary>Counts a refusal.</summary>
    /// <returns>Whether the caller should log this one: the first since the last interval that went by quietly.</returns>
    public bool Refuse(string reason)
    {
        metrics.WebhookRefused(reason);
        lock (_lock)
        {
            if (_window is not null)
            {
                _unlogged[reason] = _unlogged.GetValueOrDefault(reason) + 1;
                return false;
            }

            _window = time.CreateTimer(_ => CloseWindow(), null, options.Value.RefusalLogInterval, Timeout.InfiniteTimeSpan);
            return true;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _window?.Dispose();
            _window = null;
        }
    }

    private void CloseWindow()
    {
        KeyValuePair<string, long>[] unlogged;
        lock (_lock)
        {
            if (_unlogged.Count == 0 || _window is null)
            {
                _window?.Dispose();
                _window = null;
                return;
            }

            // Refusals went on: another window, so a flood that lasts an hour writes one line a minute.
            unlogged = [.. _unlogged.OrderBy(r => r.Key, StringComparer.Ordinal)];
            _unlogged.Clear();
            _window.Change(options.Value.RefusalLogInterval, Timeout.InfiniteTimeSpan);
        }

        var total = unlogged.Sum(r => r.Value);
        LogMoreRefused(
            total.ToString("N0", CultureInfo.InvariantCulture),
            Describe(options.Value.RefusalLogInterval),
            string.Join(", ", unlogged.Select(r => $"{r.Key}: {r.Value.ToString("N0", CultureInfo.InvariantCulture)}")));
    }

    private static string Describe(TimeSpan interval) =>
        interval == TimeSpan.FromMinutes(1) ? "minute"
        : interval.TotalSeconds < 60 ? $"{interval.TotalSeconds:0.#} s"
        : interval.ToString("c", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook listener: {Count} more refused in the last {Interval} ({Reasons})")]
    private partial void LogMoreRefused(string count, string interval, string reasons);
}
