using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Kombo.Worker.ErrorQueues;

/// <summary>
/// An error queue message's body as the operator may see it: a JSON object with its secrets redacted, or nothing but
/// the reason it cannot be shown. Whatever a publisher put in the queue, reading it never throws.
/// </summary>
internal sealed record ErrorMessageBody(JsonNode? Shown, string? Problem)
{
    public const string Redacted = "[redacted]";

    /// <summary>Larger bodies are not parsed: no command comes close, and the operator needs the id, not the bytes.</summary>
    public const int MaxShownBytes = 1024 * 1024;

    /// <summary>Deeper bodies are not shown: the tool's own JSON document must stay within System.Text.Json's default depth.</summary>
    public const int MaxShownDepth = 32;

    private static readonly string[] SecretNames = ["token", "link", "secret", "apikey", "api_key", "password", "authorization"];

    public static ErrorMessageBody Read(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return Unreadable("empty body");
        }

        if (body.Length > MaxShownBytes)
        {
            return Unreadable($"{body.Length} bytes, larger than 1 MiB");
        }

        if (!Utf8.IsValid(body.Span))
        {
            return Unreadable("not UTF-8 text (binary or a wrong encoding)");
        }

        try
        {
            // A repeated name is refused, not resolved: the worker and the operator could read different values.
            var node = JsonNode.Parse(body.Span, documentOptions: new JsonDocumentOptions { MaxDepth = MaxShownDepth, AllowDuplicateProperties = false });
            return node is JsonObject obj ? new ErrorMessageBody(RedactObject(obj), null) : Unreadable($"a JSON {KindOf(node)}, not an object");
        }
        catch (JsonException ex)
        {
            return Unreadable(Describe(ex, body));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or InsufficientExecutionStackException)
        {
            return Unreadable($"cannot be read as JSON ({ex.GetType().Name})");
        }
    }

    private static ErrorMessageBody Unreadable(string problem) => new(null, problem);

    // The exception's own message may quote the body; only its position is repeated.
    private static string Describe(JsonException ex, ReadOnlyMemory<byte> body) =>
        ParsesWithDuplicates(body) ? "a property name appears more than once in one object"
        : DepthOf(body.Span) > MaxShownDepth ? $"nested deeper than {MaxShownDepth} levels"
        : $"not JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})";

    private static bool ParsesWithDuplicates(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxShownDepth });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Utf8JsonReader keeps its depth on a bit stack, not the call stack: any nesting is measured without recursion.
    private static int DepthOf(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = int.MaxValue });
        var deepest = 0;
        try
        {
            while (reader.Read())
            {
                deepest = Math.Max(deepest, reader.CurrentDepth + 1);
            }
        }
        catch (JsonException)
        {
            // Malformed further on: the depth seen so far is the answer.
        }

        return deepest;
    }

    private static string KindOf(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    private static JsonObject RedactObject(JsonObject obj)
    {
        foreach (var (name, value) in obj.ToList())
        {
            if (IsSecretName(name) || IsLink(value))
            {
                obj[name] = Redacted;
            }
            else
            {
                RedactWithin(value);
            }
        }

        return obj;
    }

    private static void RedactWithin(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                RedactObject(obj);
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (IsLink(array[i]))
                    {
                        array[i] = Redacted;
                    }
                    else
                    {
                        RedactWithin(array[i]);
                    }
                }

                break;
        }
    }

    private static bool IsSecretName(string name) =>
        SecretNames.Any(secret => name.Contains(secret, StringComparison.OrdinalIgnoreCase));

    // A link under any name may carry a token in its path or query.
    private static bool IsLink(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text)
        && (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
}
