using System.Text.Encodings.Web;
using System.Text.Json;

namespace Kombo.Emulator;

/// <summary>Kombo's wire format: snake_case names, nulls written out (the error body's nullable keys are required).</summary>
public static class EmulatorJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        // Messages quote values ('xx', <API key>); nobody renders these bodies as HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
