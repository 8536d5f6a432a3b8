using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Kombo.Worker.Connect;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Redacts the link in the body of a parked row once the link has expired (its <c>expiresAt</c>; without one, the
/// longest lifetime a link has, one year after the row was written). A parked row may stay for ever, and a magic link
/// is a credential for a year: after that the row keeps its ids and type for the operator, and no link. Such a row is
/// never published again (<see cref="OutboxPublishing"/> parks it, the outbox tool refuses to replay it).
/// </summary>
internal static class ParkedLinkRedaction
{
    public const string Redacted = "[redacted]";

    /// <summary>How a redacted body reads in SQL (camelCase bodies, no spaces: <see cref="OutboxMessageTypes"/>).</summary>
    public const string RedactedLinkPattern = "%\"link\":\"[redacted]\"%";

    private const string LinkPattern = "%\"link\":\"%";

    private static readonly TimeSpan LongestLinkLifetime = LinkLifetime.ExpiresAt(LinkLifetime.MagicLink, DateTimeOffset.UnixEpoch) - DateTimeOffset.UnixEpoch;

    // Keyset over the sequence, so a batch of links not yet expired is not read again in the same cleanup.
    private const string CandidatesSql = """
        SELECT sequence AS Sequence, body AS Body, created_at AS CreatedAt
        FROM outbox
        WHERE parked_at IS NOT NULL AND sent_at IS NULL AND sequence > @After
          AND body LIKE @LinkPattern AND body NOT LIKE @RedactedLinkPattern
        ORDER BY sequence
        LIMIT @Limit
        """;

    private const string RedactSql = "UPDATE outbox SET body = @Body WHERE sequence = @Sequence AND parked_at IS NOT NULL AND sent_at IS NULL";

    public static bool IsRedacted(string body) => body.Contains("\"link\":\"" + Redacted + "\"", StringComparison.Ordinal);

    /// <summary>Reads up to <paramref name="limit"/> parked rows with a link after <paramref name="after"/>, redacts the expired ones.</summary>
    public static RedactionBatch RedactBatch(DbConnection connection, DbTransaction transaction, DateTimeOffset now, long after, int limit)
    {
        var rows = connection.Query<(long Sequence, string Body, long CreatedAt)>(
            CandidatesSql, new { After = after, Limit = limit, LinkPattern, RedactedLinkPattern }, transaction).AsList();
        var redacted = 0;
        foreach (var row in rows)
        {
            if (RedactIfExpired(row.Body, UnixTime.FromMs(row.CreatedAt), now) is { } body)
            {
                redacted += connection.Execute(RedactSql, new { row.Sequence, Body = body }, transaction);
            }
        }

        return new RedactionBatch(rows.Count, redacted, rows.Count == 0 ? after : rows[^1].Sequence);
    }

    /// <returns>The body with every link redacted, or null while the link still works.</returns>
    public static string? RedactIfExpired(string body, DateTimeOffset createdAt, DateTimeOffset now)
    {
        JsonObject? message;
        try
        {
            message = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            message = null;
        }

        if (message is null)
        {
            // Unreadable (it was parked as unpublishable): the link cannot be told from the rest, so nothing is kept.
            return now >= createdAt + LongestLinkLifetime ? new JsonObject { ["link"] = Redacted }.ToJsonString() : null;
        }

        var expiresAt = message["expiresAt"] is JsonValue value && value.TryGetValue<DateTimeOffset>(out var at)
            ? at
            : createdAt + LongestLinkLifetime;
        if (now < expiresAt)
        {
            return null;
        }

        foreach (var name in message.Select(p => p.Key).Where(k => string.Equals(k, "link", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            message[name] = Redacted;
        }

        return message.ToJsonString(OutboxMessageTypes.SerializerOptions);
    }
}

internal sealed record RedactionBatch(int Read, int Redacted, long LastSequence);
