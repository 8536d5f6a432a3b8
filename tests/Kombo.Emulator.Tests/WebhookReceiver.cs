using System.Text.Json;
using Kombo.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kombo.Emulator.Tests;

/// <summary>
/// Stands in for the application Kombo sends webhooks to: records every POST with its raw body and headers, and
/// answers 500 to the first <see cref="FailNext"/> of them, 200 after.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly List<ReceivedWebhook> _received = [];
    private readonly Lock _gate = new();
    private int _failNext;
    private WebApplication _app = null!;

    public string Url { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        var builder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        receiver._app = builder.Build();
        receiver._app.MapPost("/kombo/webhooks", (Delegate)receiver.ReceiveAsync);
        await receiver._app.StartAsync();
        receiver.Url = receiver._app.Urls.First().TrimEnd('/') + "/kombo/webhooks";
        return receiver;
    }

    /// <summary>How many of the next POSTs are answered 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failNext, count);

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>The acknowledged (200) webhooks, in arrival order.</summary>
    public IReadOnlyList<ReceivedWebhook> Acknowledged => [.. Received.Where(r => r.AnsweredStatus == 200)];

    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAcknowledgedAsync(int count, TimeSpan? timeout = null)
    {
        await Eventually.HoldsAsync(() => Acknowledged.Count >= count, $"{count} webhooks were acknowledged", timeout ?? TimeSpan.FromSeconds(15));
        return Acknowledged;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var status = Interlocked.Decrement(ref _failNext) >= 0 ? 500 : 200;
        lock (_gate)
        {
            _received.Add(new ReceivedWebhook(buffer.ToArray(), context.Request.Headers["X-Kombo-Signature"].ToString(),
                context.Request.ContentType, status));
        }

        return Results.StatusCode(status);
    }
}

internal sealed record ReceivedWebhook(byte[] Body, string Signature, string? ContentType, int AnsweredStatus)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    public string Id => Json.GetProperty("id").GetString()!;

    public string Type => Json.GetProperty("type").GetString()!;

    public JsonElement Data => Json.GetProperty("data");
}
