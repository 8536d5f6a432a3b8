using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kombo.Worker.KomboApi;

/// <summary>Unhealthy while Kombo refuses the worker's API key, as <see cref="ApiKeyCheck"/> last found.</summary>
internal sealed class ApiKeyAcceptedCheck(ApiKeyStatus status) : IHealthCheck
{
    public const string Name = "kombo_api_key";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(status.Last switch
        {
            null => HealthCheckResult.Healthy("The API key has not been checked yet."),
            { IsAccepted: true } last => HealthCheckResult.Healthy($"Kombo accepted the API key at {last.CheckedAt:O}."),
            var last => new HealthCheckResult(context.Registration.FailureStatus,
                $"Kombo refused the API key at {last.CheckedAt:O} (HTTP {last.HttpStatus} {last.Code}): fix Kombo:ApiKey or the IP allow-list."),
        });
}
