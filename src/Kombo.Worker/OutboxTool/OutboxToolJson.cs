using System.Text.Json;
using System.Text.Json.Nodes;
using Kombo.Worker.Storage;

namespace Kombo.Worker.OutboxTool;

/// <summary>The outbox tool's answers as one JSON document each, for scripts and monitoring (<c>--json</c>).</summary>
internal static class OutboxToolJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Status(TextWriter output, string databasePath, OutboxStatus status, DateTimeOffset now) => Write(output, new JsonObject
    {
        ["database"] = databasePath,
        ["schemaVersion"] = status.SchemaVersion,
        ["pending"] = status.Outbox.Pending,
        ["oldestPendingAt"] = status.Outbox.OldestPendingAt?.ToString("O"),
        ["oldestPendingAgeSeconds"] = status.Outbox.OldestPendingAt is null ? null : status.Outbox.OldestPendingAge(now).TotalSeconds,
        ["parked"] = status.Outbox.Parked,
        ["sent"] = status.Sent,
        ["inbox"] = status.InboxRows,
        ["lastErrors"] = new JsonArray([.. status.LastErrors.Select(e => (JsonNode)new JsonObject { ["error"] = e.Error, ["rows"] = e.Rows })]),
    });

    public static void Parked(TextWriter output, IReadOnlyList<ParkedRow> rows, long total) => Write(output, new JsonObject
    {
        ["total"] = total,
        ["rows"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
        {
            ["sequence"] = r.Sequence,
            ["messageId"] = r.MessageId,
            ["messageType"] = r.MessageType,
            ["attempts"] = r.Attempts,
            ["parkedAt"] = Time(r.ParkedAt),
            ["lastError"] = r.LastError,
            ["linkRedacted"] = r.LinkRedacted,
        })]),
    });

    public static void Replayed(TextWriter output, ReplayedRows rows) => Write(output, new JsonObject
    {
        ["replayed"] = Rows(rows.Replayed),
        ["skipped"] = Rows(rows.Skipped),
    });

    private static JsonArray Rows(IReadOnlyList<OutboxRow> rows) => new([.. rows.Select(r => (JsonNode)new JsonObject
    {
        ["sequence"] = r.Sequence,
        ["messageId"] = r.MessageId,
        ["messageType"] = r.MessageType,
        ["attempts"] = r.Attempts,
        ["linkRedacted"] = r.LinkRedacted,
    })]);

    public static void Purged(TextWriter output, long deleted, DateTimeOffset? sentBefore) => Write(output, new JsonObject
    {
        ["deleted"] = deleted,
        ["sentBefore"] = sentBefore?.ToString("O"),
    });

    private static string Time(long unixMs) => UnixTime.FromMs(unixMs).ToString("O");

    private static void Write(TextWriter output, JsonObject document) => output.WriteLine(document.ToJsonString(Indented));
}
