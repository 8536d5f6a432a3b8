using System.Globalization;
using System.Text.Json;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// Reads a verified webhook body into a <see cref="KomboWebhook"/>, field by field, so that a body that does not fit
/// gets an answer naming the field. Kombo documents every field read here as required; the ones its schema lets be null
/// (<c>end_user.creator_email</c>, <c>end_user.origin_id</c>) read as null when left out too, and <c>setup_status</c> of
/// a state change is absent from older payloads, so a body Kombo signed is refused only when it could never be applied.
/// </summary>
internal static class WebhookParser
{
    private const int MaxTextLength = 2048;

    /// <returns>The webhook, or null with <paramref name="problem"/> saying what is wrong.</returns>
    public static KomboWebhook? Parse(ReadOnlyMemory<byte> body, out string? problem)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var reader = new Fields(document.RootElement, "");
            var id = reader.Text("id");
            var type = reader.Text("type");
            var data = reader.Object("data");
            var webhook = type switch
            {
                KomboWebhook.IntegrationCreatedType => new IntegrationCreatedWebhook(
                    id, data.Text("id"), data.Text("tool"), data.Text("category"), EndUser(data)),
                KomboWebhook.IntegrationDeletedType => new IntegrationDeletedWebhook(
                    id, data.Text("id"), data.Text("tool"), data.Text("category"), EndUser(data), data.Time("deleted_at")),
                KomboWebhook.IntegrationStateChangedType => new IntegrationStateChangedWebhook(
                    id, data.Text("integration_id"), data.Text("integration_tool"), data.Text("integration_category"), EndUser(data),
                    data.Text("state"), data.OptionalText("setup_status"), data.Text("qa_status"), data.Time("updated_at")),
                KomboWebhook.ConnectionFlowFailedType => new ConnectionFlowFailedWebhook(
                    id, data.Text("integration_tool"), data.Text("integration_category"), EndUser(data), data.Text("log_url")),
                _ => (KomboWebhook)new UnknownWebhook(id, type),
            };
            problem = null;
            return webhook;
        }
        catch (JsonException ex)
        {
            problem = $"The body is not JSON: {ex.Message}";
        }
        catch (InvalidWebhookException ex)
        {
            problem = ex.Message;
        }

        return null;
    }

    private static WebhookEndUser EndUser(Fields data)
    {
        var endUser = data.Object("end_user");
        return new WebhookEndUser(endUser.Text("organization_name"), endUser.OptionalText("creator_email"), endUser.OptionalText("origin_id"));
    }

    private readonly struct Fields(JsonElement element, string path)
    {
        public string Text(string name) =>
            OptionalText(name) is { Length: > 0 } value ? value : throw Invalid($"{path}{name} is required and must be a non-empty string.");

        /// <summary>A key that may be null or left out: both read as null.</summary>
        public string? OptionalText(string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? ReadText(name, value) : null;

        public DateTimeOffset Time(string name) =>
            DateTimeOffset.TryParse(Text(name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                ? time
                : throw Invalid($"{path}{name} must be an ISO 8601 date-time.");

        public Fields Object(string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
                ? new Fields(value, $"{path}{name}.")
                : throw Invalid($"{path}{name} is required and must be an object.");

        private string? ReadText(string name, JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String when value.GetString()!.Length <= MaxTextLength => value.GetString(),
            JsonValueKind.String => throw Invalid($"{path}{name} is longer than {MaxTextLength} characters."),
            _ => throw Invalid($"{path}{name} must be a string."),
        };

        private static InvalidWebhookException Invalid(string message) => new(message);
    }

    private sealed class InvalidWebhookException(string message) : Exception(message);
}
