using System.Text.Json;

namespace Kombo.Emulator;

/// <summary>Reads a request body as JSON, turning malformed input into a message instead of an exception.</summary>
public static class JsonBody
{
    public static async Task<(JsonElement Value, string? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            return (document.RootElement.Clone(), null);
        }
        catch (JsonException e)
        {
            return (default, $"The request body is not valid JSON: {e.Message}");
        }
    }

    public static async Task<(T? Value, string? Error)> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, EmulatorJson.Options, cancellationToken);
            return value is null ? (null, "The request body must be a JSON object.") : (value, null);
        }
        catch (JsonException e)
        {
            return (null, $"The request body is not valid JSON: {e.Message}");
        }
    }
}
