using System.Text.Json;

namespace Kombo.Worker.KomboApi;

/// <summary>
/// Reads Kombo's error body (<c>{"status":"error","error":{code,title,message,log_url}}</c>) without trusting it:
/// a proxy's HTML page, an empty body or JSON of another shape still yields a <see cref="KomboError"/>.
/// Descriptions never quote the request URL, which can carry a token.
/// </summary>
internal static class KomboErrorParser
{
    public static KomboError Parse(int httpStatus, ReadOnlyMemory<byte> body) =>
        TryReadErrorObject(httpStatus, body, out var error, out var shape)
            ? error
            : new KomboError(httpStatus, null, null, $"HTTP {httpStatus} with {shape}", null);

    /// <summary>Finds Kombo's <c>error</c> object; otherwise says what the body was instead (for messages).</summary>
    internal static bool TryReadErrorObject(int httpStatus, ReadOnlyMemory<byte> body, out KomboError error, out string shape)
    {
        error = null!;
        if (IsBlank(body.Span))
        {
            shape = "an empty body";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("error", out var element)
                || element.ValueKind != JsonValueKind.Object)
            {
                shape = "a JSON body that is not a Kombo error";
                return false;
            }

            var title = Text(element, "title");
            var message = Text(element, "message") ?? title ?? $"HTTP {httpStatus} with a Kombo error without a message";
            error = new KomboError(httpStatus, Text(element, "code"), title, message, Text(element, "log_url"));
            shape = "a Kombo error";
            return true;
        }
        catch (JsonException)
        {
            shape = "a non-JSON body";
            return false;
        }
    }

    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : null;

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }
}
