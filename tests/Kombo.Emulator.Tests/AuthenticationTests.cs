using System.Net;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

public sealed class AuthenticationTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>
{
    [Fact]
    public async Task Wrong_api_key_is_answered_401_with_a_kombo_authentication_error()
    {
        using var kombo = emulator.CreateKomboClient(apiKey: "not-the-key");

        using var response = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.AUTHENTICATION_INVALID");
    }

    [Fact]
    public async Task Missing_authorization_header_is_answered_401_with_a_kombo_authentication_error()
    {
        using var anonymous = new HttpClient { BaseAddress = emulator.BaseAddress };

        using var response = await anonymous.GetAsync("connect/integration-by-token/anything");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.AUTHENTICATION_INVALID");
    }

    [Fact]
    public async Task Configured_api_key_is_the_one_accepted()
    {
        await using var own = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:ApiKey"] = "sk-test-123",
        });
        using var withConfiguredKey = own.CreateKomboClient();
        using var withDefaultKey = own.CreateKomboClient("emulator-key");

        using var accepted = await withConfiguredKey.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);
        using var rejected = await withDefaultKey.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        Assert.Equal("sk-test-123", own.ApiKey);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
    }
}
