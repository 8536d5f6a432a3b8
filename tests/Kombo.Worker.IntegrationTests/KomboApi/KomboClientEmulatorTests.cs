using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.KomboApi;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Polly.Timeout;

namespace Kombo.Worker.IntegrationTests.KomboApi;

/// <summary>The real <see cref="KomboClient"/> (DI wiring, sockets, pipeline) against the emulator over HTTP.</summary>
public sealed class KomboClientEmulatorTests(KomboEmulatorFixture kombo) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => kombo.Client.ResetAsync();

    public Task DisposeAsync() => kombo.Client.ResetAsync();

    [Fact]
    public async Task A_created_link_completed_by_the_end_user_redeems_by_token_and_by_activate_integration()
    {
        using var services = Services();
        var client = services.GetRequiredService<KomboClient>();

        async Task<string> CompletedTokenAsync()
        {
            var created = await client.CreateLinkAsync(new CreateLinkRequest
            {
                EndUserEmail = "admin@acme.test",
                EndUserOrganizationName = "Acme, Inc.",
                EndUserOriginId = "customer-42",
                IntegrationCategory = "HRIS",
                IntegrationTool = "personio",
                LinkType = "EMBEDDED",
            }, CancellationToken.None);
            Assert.True(created.IsSuccess, created.Error?.Message);
            return await kombo.CompleteLinkAsync(created.Value!.Link, setupStatus: "COMPLETED");
        }

        var token = await CompletedTokenAsync();
        var byToken = await client.GetIntegrationByTokenAsync(token, CancellationToken.None);
        var activated = await client.ActivateIntegrationAsync(await CompletedTokenAsync(), CancellationToken.None);
        // The emulator's tokens are single-use, as Kombo's must be taken to be: the spent one is refused.
        var again = await client.GetIntegrationByTokenAsync(token, CancellationToken.None);

        var integration = byToken.Value;
        Assert.NotNull(integration);
        Assert.Equal("personio", integration.Tool);
        Assert.StartsWith("personio:", integration.Id, StringComparison.Ordinal);
        Assert.Equal("customer-42", integration.EndUserOriginId);
        Assert.Equal("Acme, Inc.", integration.EndUserOrganizationName);
        Assert.Equal("admin@acme.test", integration.EndUserEmail);
        Assert.Equal("COMPLETED", integration.SetupStatus);
        Assert.Equal(integration with { Id = activated.Value!.Id }, activated.Value);
        Assert.NotEqual(integration.Id, activated.Value.Id);
        Assert.False(again.IsSuccess);
    }

    [Fact]
    public async Task An_unknown_token_is_a_typed_404_input_invalid_error_without_retries()
    {
        using var services = Services();
        var client = services.GetRequiredService<KomboClient>();

        var byToken = await client.GetIntegrationByTokenAsync("no-such-token", CancellationToken.None);
        var activated = await client.ActivateIntegrationAsync("no-such-token", CancellationToken.None);

        foreach (var error in new[] { byToken.Error, activated.Error })
        {
            Assert.NotNull(error);
            Assert.Equal(404, error.HttpStatus);
            Assert.Equal("PLATFORM.INPUT_INVALID", error.Code);
            Assert.Equal("Input invalid", error.Title);
            Assert.False(string.IsNullOrEmpty(error.Message));
            Assert.NotNull(error.LogUrl);
        }

        var stats = await kombo.Client.GetStatsAsync();
        Assert.Equal(1, stats.Endpoints.IntegrationByToken);
        Assert.Equal(1, stats.Endpoints.ActivateIntegration);
    }

    [Fact]
    public async Task A_wrong_api_key_is_a_typed_401_authentication_invalid_error_without_retries()
    {
        using var services = Services(new() { ["Kombo:ApiKey"] = "not-the-emulator-key" });

        var result = await services.GetRequiredService<KomboClient>().CreateLinkAsync(
            new CreateLinkRequest { EndUserEmail = "admin@acme.test", EndUserOrganizationName = "Acme, Inc." }, CancellationToken.None);

        Assert.Equal(401, result.Error?.HttpStatus);
        Assert.Equal("PLATFORM.AUTHENTICATION_INVALID", result.Error?.Code);
        Assert.Equal(1, (await kombo.Client.GetStatsAsync()).Endpoints.CreateLink);
    }

    [Fact]
    public async Task Load_balancer_503s_and_rate_limits_are_retried_until_each_call_succeeds()
    {
        await kombo.Client.SetFaultsAsync(new FaultSettings
        {
            ErrorRate = 0.3,
            PlainText503Share = 1,
            RateLimitRate = 0.2,
            RetryAfterShare = 0.5,
            RetryAfterSeconds = 1,
            Seed = 7,
        });
        using var services = Services(new() { ["Kombo:MaxRetryAttempts"] = "8" });
        var client = services.GetRequiredService<KomboClient>();

        for (var i = 0; i < 10; i++)
        {
            var result = await client.CreateLinkAsync(
                new CreateLinkRequest { EndUserEmail = "admin@acme.test", EndUserOrganizationName = "Acme, Inc." }, CancellationToken.None);
            Assert.True(result.IsSuccess, result.Error?.Message);
        }

        var stats = await kombo.Client.GetStatsAsync();
        Assert.Equal(10, stats.LinksCreated);
        Assert.True(stats.Faults.PlainText503 + stats.Faults.RateLimited > 0, "the seed injected no faults");
        Assert.Equal(10 + stats.Faults.PlainText503 + stats.Faults.RateLimited, stats.TotalCalls);
    }

    [Fact]
    public async Task A_hanging_Kombo_is_cut_by_the_attempt_timeout_and_the_budget_then_reported_unavailable()
    {
        await kombo.Client.SetFaultsAsync(new FaultSettings { HangRate = 1 });
        using var services = Services(new()
        {
            ["Kombo:AttemptTimeout"] = "00:00:01",
            ["Kombo:TotalTimeout"] = "00:00:03",
            ["Kombo:MaxRetryAttempts"] = "10",
        });

        var failure = await Assert.ThrowsAsync<KomboUnavailableException>(() => services.GetRequiredService<KomboClient>()
            .GetIntegrationByTokenAsync("any-token", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.IsType<TimeoutRejectedException>(failure.InnerException);
        Assert.Null(failure.LastError);
        Assert.InRange((await kombo.Client.GetStatsAsync()).Endpoints.IntegrationByToken, 1, 3);
    }

    private ServiceProvider Services(Dictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kombo:BaseUrl"] = kombo.BaseAddress.ToString().TrimEnd('/'),
                ["Kombo:ApiKey"] = kombo.ApiKey,
                ["Kombo:AttemptTimeout"] = "00:00:05",
                ["Kombo:TotalTimeout"] = "00:00:20",
                ["Kombo:RetryBaseDelay"] = "00:00:00.010",
                ["Kombo:RetryMaxDelay"] = "00:00:00.100",
            })
            .AddInMemoryCollection(settings ?? [])
            .Build();
        return new ServiceCollection().AddLogging().AddKomboApi(configuration).BuildServiceProvider();
    }
}
