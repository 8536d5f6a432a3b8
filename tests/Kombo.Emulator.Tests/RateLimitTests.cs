using System.Net;
using Kombo.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Emulator.Tests;

public sealed class RateLimitTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>
{
    [Fact]
    public async Task Success_and_error_answers_both_carry_the_ratelimit_headers()
    {
        using var kombo = emulator.CreateKomboClient();
        using var wrongKey = emulator.CreateKomboClient("wrong");

        using var success = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);
        using var notFound = await kombo.GetAsync("connect/integration-by-token/unknown");
        using var unauthorized = await wrongKey.GetAsync("connect/integration-by-token/unknown");

        foreach (var response in new[] { success, notFound, unauthorized })
        {
            Assert.True(int.Parse(Header(response, "ratelimit-limit")) > 0);
            Assert.True(int.Parse(Header(response, "ratelimit-remaining")) >= 0);
            Assert.InRange(int.Parse(Header(response, "ratelimit-reset")), 0, 60);
        }
    }

    [Fact]
    public async Task Calls_over_the_limit_get_429_until_the_window_resets()
    {
        var time = new FakeTimeProvider();
        await using var own = await KomboEmulatorFixture.StartAsync(time, new Dictionary<string, string?>
        {
            ["Emulator:RateLimit"] = "2",
            ["Emulator:RateLimitWindow"] = "00:01:00",
        });
        using var kombo = own.CreateKomboClient();

        using var first = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);
        using var second = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);
        using var third = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);
        time.Advance(TimeSpan.FromMinutes(1));
        using var afterReset = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        Assert.Equal("1", Header(first, "ratelimit-remaining"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("0", Header(third, "ratelimit-remaining"));
        await third.KomboErrorAsync("PLATFORM.RATE_LIMIT_EXCEEDED");
        Assert.Equal(HttpStatusCode.OK, afterReset.StatusCode);
        Assert.Equal(3, (await own.Client.GetStatsAsync()).LinksCreated);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        Assert.Single(response.Headers.GetValues(name));
}
