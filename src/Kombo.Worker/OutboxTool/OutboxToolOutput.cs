using System.Globalization;
using Kombo.Worker.Storage;

namespace Kombo.Worker.OutboxTool;

/// <summary>Plain, aligned text for a terminal; one fact per line so that grep and awk work on it.</summary>
internal static class OutboxToolOutput
{
    private const int MaxErrorLength = 160;

    public static void Status(TextWriter output, string databasePath, OutboxStatus status, DateTimeOffset now)
    {
        var outbox = status.Outbox;
        output.WriteLine($"database      {databasePath} (schema version {status.SchemaVersion})");
        output.WriteLine(outbox.OldestPendingAt is null
            ? $"pending       {outbox.Pending}"
            : $"pending       {outbox.Pending} (oldest {Age(outbox.OldestPendingAge(now))} old)");
        output.WriteLine($"parked        {outbox.Parked}");
        output.WriteLine($"sent          {status.Sent} (not yet cleaned up)");
        output.WriteLine($"inbox         {status.InboxRows}");
        if (status.LastErrors.Count == 0)
        {
            output.WriteLine("last errors   none");
            return;
        }

        output.WriteLine("last errors   (rows not sent yet, most frequent first)");
        var width = status.LastErrors.Max(e => e.Rows).ToString(CultureInfo.InvariantCulture).Length;
        foreach (var error in status.LastErrors)
        {
            output.WriteLine($"  {error.Rows.ToString(CultureInfo.InvariantCulture).PadLeft(width)}  {OneLine(error.Error)}");
        }
    }

    public static void Parked(TextWriter output, IReadOnlyList<ParkedRow> rows, long total)
    {
        if (rows.Count == 0)
        {
            output.WriteLine("no parked rows");
            return;
        }

        string[] header = ["sequence", "message id", "type", "attempts", "parked at", "last error"];
        var table = rows.Select(r => new[]
        {
            r.Sequence.ToString(CultureInfo.InvariantCulture),
            r.MessageId,
            r.LinkRedacted ? r.MessageType + " (link redacted)" : r.MessageType,
            r.Attempts.ToString(CultureInfo.InvariantCulture),
            Timestamp(r.ParkedAt),
            OneLine(r.LastError ?? ""),
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, table.Max(row => row[i].Length))).ToArray();
        output.WriteLine(Row(header, widths));
        foreach (var row in table)
        {
            output.WriteLine(Row(row, widths));
        }

        if (total > rows.Count)
        {
            output.WriteLine($"({rows.Count} of {total} parked rows; --limit shows more)");
        }
    }

    public static string Timestamp(long unixMs) =>
        UnixTime.FromMs(unixMs).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>42s</c>, <c>3m 12s</c>, <c>2h 05m</c>, <c>3d 4h</c>.</summary>
    public static string Age(TimeSpan age) => age switch
    {
        { TotalMinutes: < 1 } => $"{age.Seconds}s",
        { TotalHours: < 1 } => $"{age.Minutes}m {age.Seconds:00}s",
        { TotalDays: < 1 } => $"{age.Hours}h {age.Minutes:00}m",
        _ => $"{(int)age.TotalDays}d {age.Hours}h",
    };

    // The last column is not padded, so lines carry no trailing blanks.
    private static string Row(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((cell, i) => i == cells.Length - 1 ? cell : i is 0 or 3 ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i])));

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= MaxErrorLength ? line : line[..(MaxErrorLength - 1)] + "…";
    }
}
