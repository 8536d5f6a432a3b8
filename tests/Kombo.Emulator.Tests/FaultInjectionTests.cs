using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Kombo.Emulator.Faults;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

public sealed class FaultInjectionTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => emulator.Client.ResetAsync();

    public Task DisposeAsync() => emulator.Client.ResetAsync();

    [Fact]
    public async Task Error_rate_of_one_answers_every_call_with_a_5xx_kombo_unknown_error()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 1, Seed = 1 });
        using var kombo = emulator.CreateKomboClient();

        for (var i = 0; i < 10; i++)
        {
            using var response = await kombo.GetAsync("connect/integration-by-token/anything");
            Assert.Contains(response.StatusCode, new[] { HttpStatusCode.InternalServerError, HttpStatusCode.BadGateway });
            await response.KomboErrorAsync("PLATFORM.UNKNOWN_ERROR");
            Assert.Single(response.Headers.GetValues("ratelimit-limit"));
        }
    }

    [Fact]
    public async Task Plain_text_503_share_of_one_answers_a_load_balancer_page_without_json()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 1, PlainText503Share = 1 });
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("<html>", body, StringComparison.Ordinal);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
    }

    [Fact]
    public async Task Injected_rate_limit_with_retry_after_share_of_one_carries_retry_after()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { RateLimitRate = 1, RetryAfterShare = 1, RetryAfterSeconds = 2 });
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.RATE_LIMIT_EXCEEDED");
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Equal("2", Assert.Single(response.Headers.GetValues("ratelimit-reset")));
    }

    [Fact]
    public async Task Injected_rate_limit_without_retry_after_share_only_carries_ratelimit_reset()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { RateLimitRate = 1, RetryAfterShare = 0 });
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.GetAsync("connect/integration-by-token/anything");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        Assert.Single(response.Headers.GetValues("ratelimit-reset"));
    }

    [Fact]
    public async Task Faulted_create_link_creates_no_link()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 1 });
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        var stats = await emulator.Client.GetStatsAsync();
        Assert.Equal(1, stats.Endpoints.CreateLink);
        Assert.Equal(1, stats.Faults.ServerError);
        Assert.Equal(0, stats.LinksCreated);
    }

    [Fact]
    public async Task Latency_delays_every_call()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { LatencyMs = 300 });
        using var kombo = emulator.CreateKomboClient();
        var clock = Stopwatch.StartNew();

        using var response = await kombo.GetAsync("connect/integration-by-token/anything");

        Assert.True(clock.ElapsedMilliseconds >= 290, $"answered after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Hanging_call_never_answers_before_the_client_gives_up()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { HangRate = 1, HangMs = 60_000 });
        using var kombo = emulator.CreateKomboClient();
        kombo.Timeout = TimeSpan.FromMilliseconds(300);

        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => kombo.GetAsync("connect/integration-by-token/anything"));

        Assert.Equal(1, (await emulator.Client.GetStatsAsync()).Faults.Hang);
    }

    [Fact]
    public async Task Same_seed_gives_the_same_faults_for_the_same_calls()
    {
        var faults = new FaultSettings { ErrorRate = 0.5, RateLimitRate = 0.3, Seed = 42 };
        using var kombo = emulator.CreateKomboClient();

        await emulator.Client.SetFaultsAsync(faults);
        var first = await StatusesAsync(kombo, 30);
        await emulator.Client.SetFaultsAsync(faults);
        var second = await StatusesAsync(kombo, 30);

        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() >= 3, string.Join(",", first));
    }

    [Fact]
    public async Task Faults_can_be_read_back_and_cleared()
    {
        await emulator.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 0.25, LatencyMs = 5 });

        var set = await emulator.Admin.GetStringAsync("emulator/faults");
        using var cleared = await emulator.Admin.DeleteAsync("emulator/faults");
        var after = await emulator.Admin.GetStringAsync("emulator/faults");

        Assert.Contains("\"error_rate\":0.25", set, StringComparison.Ordinal);
        Assert.Contains("\"latency_ms\":5", set, StringComparison.Ordinal);
        Assert.Contains("\"error_rate\":0", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_range_fault_settings_are_rejected()
    {
        using var response = await emulator.Admin.PutAsync("emulator/faults",
            new StringContent("""{"error_rate":1.5}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Faults_from_configuration_apply_from_the_start()
    {
        await using var own = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:Faults:error_rate"] = "1",
            ["Emulator:Faults:plain_text_503_share"] = "1",
        });
        using var kombo = own.CreateKomboClient();

        using var response = await kombo.GetAsync("connect/integration-by-token/anything");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    private static async Task<int[]> StatusesAsync(HttpClient kombo, int calls)
    {
        var statuses = new int[calls];
        for (var i = 0; i < calls; i++)
        {
            using var response = await kombo.GetAsync("connect/integration-by-token/anything");
            statuses[i] = (int)response.StatusCode;
        }

        return statuses;
    }
}
