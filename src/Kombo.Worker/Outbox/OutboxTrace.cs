using System.Diagnostics;
using System.Net;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Carries a trace across the outbox: the context of the work that writes a row is stored with it, and the relay's
/// publish of the row continues that trace instead of starting a new one (MassTransit's own publish span, and the
/// traceparent header it sends, follow from here).
/// </summary>
internal static class OutboxTrace
{
    public const string ActivitySourceName = "Kombo.Worker.Outbox";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>
    /// Stamps the current trace context (the consume span's, normally) on the rows about to be written; its baggage only
    /// with <paramref name="forwardBaggage"/> (<see cref="Operations.OpenTelemetryOptions.ForwardBaggage"/>).
    /// </summary>
    public static IReadOnlyList<OutgoingMessage> Stamp(IReadOnlyList<OutgoingMessage> messages, Activity? current, bool forwardBaggage)
    {
        if (current is null || messages.Count == 0)
        {
            return messages;
        }

        var baggage = forwardBaggage ? Baggage(current) : null;
        return messages.Select(m => m with { TraceParent = current.Id, TraceState = current.TraceStateString, Baggage = baggage }).ToList();
    }

    /// <summary>The span of one row's publish, a child of the work that wrote it; null when the row carries no trace.</summary>
    public static Activity? StartPublish(PendingMessage row)
    {
        if (row.TraceParent is null || !ActivityContext.TryParse(row.TraceParent, row.TraceState, isRemote: true, out var parent))
        {
            return null;
        }

        var activity = Source.StartActivity($"outbox publish {row.MessageType}", ActivityKind.Producer, parent);
        if (activity is not null)
        {
            activity.SetTag("messaging.message.id", row.MessageId);
            activity.SetTag("kombo.outbox.sequence", row.Sequence);
            foreach (var (key, value) in ParseBaggage(row.Baggage))
            {
                activity.SetBaggage(key, value);
            }
        }

        return activity;
    }

    // W3C baggage: key=value pairs, comma-separated, both percent-encoded.
    private static string? Baggage(Activity activity)
    {
        var items = activity.Baggage.Where(b => b.Value is not null).ToList();
        return items.Count == 0
            ? null
            : string.Join(',', items.Select(b => $"{WebUtility.UrlEncode(b.Key)}={WebUtility.UrlEncode(b.Value)}"));
    }

    private static IEnumerable<(string Key, string Value)> ParseBaggage(string? baggage) =>
        string.IsNullOrEmpty(baggage)
            ? []
            : baggage.Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(item => item.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .Select(pair => (WebUtility.UrlDecode(pair[0]), WebUtility.UrlDecode(pair[1])));
}
