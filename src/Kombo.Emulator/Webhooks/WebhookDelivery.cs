using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Webhooks;

/// <summary>
/// POSTs queued webhooks to <see cref="EmulatorOptions.WebhookUrl"/>, at least once: a 2xx ends a delivery, anything
/// else (another status, a network error, a timeout) is tried again with backoff.
/// </summary>
public sealed partial class WebhookDelivery(
    WebhookQueue queue, ActiveWebhookFaults faults, IOptions<EmulatorOptions> options, ILogger<WebhookDelivery> logger)
    : BackgroundService
{
    private readonly EmulatorOptions _options = options.Value;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.WebhookUrl is not { } url)
        {
            logger.LogInformation("No Emulator:WebhookUrl: no webhooks are sent");
            return Task.CompletedTask;
        }

        logger.LogInformation("Webhooks go to {WebhookUrl}", url);
        var target = new Uri(url);
        return Task.WhenAll(Enumerable.Range(0, _options.WebhookRetry.Parallelism).Select(_ => DeliverAsync(target, stoppingToken)));
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    private async Task DeliverAsync(Uri target, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Delivery delivery;
            try
            {
                delivery = await queue.TakeAsync(stopping);
                var delay = faults.Settings.DelayMs;
                if (delay > 0)
                {
                    await Task.Delay(delay, stopping);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            queue.AttemptStarted(delivery);
            var status = await PostAsync(target, delivery.Webhook, stopping);
            if (stopping.IsCancellationRequested)
            {
                return;
            }

            if (status is >= 200 and < 300)
            {
                queue.Acknowledged(delivery);
            }
            else
            {
                LogFailed(delivery.Webhook.Id, delivery.Webhook.Type, delivery.Webhook.Attempts, status?.ToString() ?? "no answer");
                queue.Failed(delivery, stopping);
            }
        }
    }

    private async Task<int?> PostAsync(Uri target, Webhook webhook, CancellationToken stopping)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ReadOnlyMemoryContent(webhook.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(WebhookSignature.Header, webhook.Signature);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        attempt.CancelAfter(_options.WebhookRetry.AttemptTimeout);
        try
        {
            using var response = await _http.SendAsync(request, attempt.Token);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook {WebhookId} ({Type}) attempt {Attempt} failed: {Answer}; trying again")]
    private partial void LogFailed(string webhookId, string type, int attempt, string answer);
}
