using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Webhooks;

/// <summary>Makes a signed webhook and queues it for delivery; without <see cref="EmulatorOptions.WebhookUrl"/> it does nothing.</summary>
public sealed class WebhookSender(WebhookQueue queue, IOptions<EmulatorOptions> options, TimeProvider time)
{
    private readonly EmulatorOptions _options = options.Value;

    /// <returns>The webhook's id, or null when webhooks are off.</returns>
    public string? Send<T>(string type, string lane, string? integrationId, T data)
    {
        if (_options.WebhookUrl is null)
        {
            return null;
        }

        var id = RandomIds.WebhookId();
        var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookEnvelope<T>(id, type, data), EmulatorJson.Options);
        queue.Enqueue(new Webhook(id, type, integrationId, lane, body, WebhookSignature.Sign(_options.WebhookSecret!, body), time.GetUtcNow()));
        return id;
    }
}
