using Kombo.Worker.Operations;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.KomboApi;

/// <summary>
/// Asks Kombo whether it accepts the worker's key (<c>GET /check-api-key</c>) at start and every
/// <see cref="KomboOptions.ApiKeyCheckInterval"/>: a rotated key or a changed IP allow-list then shows on
/// <c>/health/ready</c> and in a metric, before the commands start failing with <c>kombo_unauthorized</c>.
/// </summary>
internal sealed partial class ApiKeyCheck(
    KomboClient kombo,
    ApiKeyStatus status,
    WorkerMetrics metrics,
    TimeProvider time,
    IOptions<KomboOptions> options,
    ILogger<ApiKeyCheck> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ApiKeyCheckInterval, time);
        do
        {
            await CheckOnceAsync(stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public async Task CheckOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await kombo.CheckApiKeyAsync(cancellationToken);
            if (result.Error is { } error && KomboFailureClassifier.IsUnauthorized(error))
            {
                status.Rejected(error, time.GetUtcNow());
                metrics.ApiKeyRejected(error.HttpStatus);
                LogRejected(error.HttpStatus, error.Code);
            }
            else if (result.IsSuccess)
            {
                status.Accepted(time.GetUtcNow());
            }
        }
        catch (KomboUnavailableException)
        {
            // Kombo down says nothing about the key: the last verdict stands, and the outage shows elsewhere.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Kombo refused the worker's API key (HTTP {HttpStatus} {KomboErrorCode}): fix Kombo:ApiKey or the IP allow-list")]
    private partial void LogRejected(int? httpStatus, string? komboErrorCode);
}
