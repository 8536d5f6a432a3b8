using System.Net;
using Kombo.Contracts;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Operations;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class ApiKeyCheckTests
{
    private static async Task<HealthCheckResult> ReadinessAsync(ApiKeyStatus status) =>
        await new ApiKeyAcceptedCheck(status).CheckHealthAsync(new HealthCheckContext
        {
            Registration = new HealthCheckRegistration(ApiKeyAcceptedCheck.Name, _ => null!, HealthStatus.Unhealthy, null),
        });

    private static ApiKeyCheck CheckOf(Harness harness, ApiKeyStatus status) => new(
        harness.Services.GetRequiredService<KomboClient>(), status, harness.Services.GetRequiredService<WorkerMetrics>(),
        TimeProvider.System, harness.Services.GetRequiredService<IOptions<KomboOptions>>(), NullLogger<ApiKeyCheck>.Instance);

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "PLATFORM.AUTHENTICATION_INVALID")]
    [InlineData(HttpStatusCode.Forbidden, "PLATFORM.IP_NOT_WHITELISTED")]
    public async Task Refused_key_makes_readiness_unhealthy_and_is_counted_until_a_check_passes(HttpStatusCode status, string code)
    {
        await using var harness = await Harness.StartAsync();
        using var readings = new MeterReadings(harness.Services.GetRequiredService<WorkerMetrics>().Meter);
        var keyStatus = new ApiKeyStatus();
        var check = CheckOf(harness, keyStatus);
        harness.Kombo.Respond = _ => FakeKombo.Error(status, code, "The API key is invalid.");

        await check.CheckOnceAsync(default);

        var refused = await ReadinessAsync(keyStatus);
        Assert.Equal(HealthStatus.Unhealthy, refused.Status);
        Assert.Contains(code, refused.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(Harness.ApiKey, refused.Description, StringComparison.Ordinal);
        Assert.Equal(1, readings.Sum("kombo.worker.kombo.api_key_rejections"));
        Assert.Equal(1, harness.Kombo.KeyChecks);

        harness.Kombo.Respond = null;
        await check.CheckOnceAsync(default);
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync(keyStatus)).Status);
    }

    [Fact]
    public async Task Kombo_unavailable_leaves_the_last_verdict()
    {
        await using var harness = await Harness.StartAsync();
        var keyStatus = new ApiKeyStatus();
        var check = CheckOf(harness, keyStatus);
        harness.Kombo.Respond = _ => FakeKombo.Error(HttpStatusCode.Unauthorized, "PLATFORM.AUTHENTICATION_INVALID");
        await check.CheckOnceAsync(default);

        harness.Kombo.Respond = _ => FakeKombo.PlainText(HttpStatusCode.ServiceUnavailable, "<html>down</html>");
        await check.CheckOnceAsync(default);

        Assert.Equal(HealthStatus.Unhealthy, (await ReadinessAsync(keyStatus)).Status);
    }

    [Fact]
    public async Task Link_refused_for_the_key_is_answered_kombo_unauthorized_and_retryable()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.Respond = _ => FakeKombo.Error(HttpStatusCode.Unauthorized, "PLATFORM.AUTHENTICATION_INVALID", "The API key is invalid.");

        await harness.Bus.Bus.Publish(new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
        });

        var failed = (await harness.Bus.Published.SelectAsync<ConnectLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboUnauthorized, failed.Reason);
        Assert.True(failed.Retryable);
    }
}
