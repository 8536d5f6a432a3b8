using System.Net;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

public sealed class RelinkTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>
{
    [Fact]
    public async Task Relink_of_a_known_integration_returns_a_link_shaped_like_create_links()
    {
        using var kombo = emulator.CreateKomboClient();
        var completed = await emulator.Client.CompleteLinkAsync(await kombo.CreateLinkAsync());
        var before = await emulator.Client.GetStatsAsync();

        using var response = await kombo.PostJsonAsync($"integrations/{Uri.EscapeDataString(completed.IntegrationId)}/relink",
            """{"language":"de","scope_config_id":"9Pv6aCFwNDEzPNmwjSsY9SQx","link_type":"MAGIC_LINK"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.Equal(["link"], body.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.Matches($"^{emulator.Root}connect/v1\\?token=[A-Za-z0-9]+$", body.GetProperty("data").GetProperty("link").GetString());
        Assert.Equal(before.Endpoints.Relink + 1, (await emulator.Client.GetStatsAsync()).Endpoints.Relink);
    }

    [Fact]
    public async Task Relink_without_a_body_takes_the_defaults()
    {
        using var kombo = emulator.CreateKomboClient();
        var token = await emulator.Client.IssueTokensAsync(1);

        using var response = await kombo.PostAsync($"integrations/{token[0].IntegrationId}/relink", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Relink_of_an_unknown_integration_is_a_kombo_integration_not_found()
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("integrations/personio:doesNotExist/relink", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.INTEGRATION_NOT_FOUND");
    }

    [Fact]
    public async Task Relink_of_a_deleted_integration_is_a_kombo_integration_not_found()
    {
        using var kombo = emulator.CreateKomboClient();
        var completed = await emulator.Client.CompleteLinkAsync(await kombo.CreateLinkAsync());
        await emulator.Client.DeleteIntegrationAsync(completed.IntegrationId);

        using var response = await kombo.PostJsonAsync($"integrations/{completed.IntegrationId}/relink", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.INTEGRATION_NOT_FOUND");
    }

    [Theory]
    [InlineData("""{"link_type":"POPUP"}""")]
    [InlineData("""{"language":"nl"}""")]
    [InlineData("""{"link_type":null}""")]
    [InlineData("""{"scope_config_id":42}""")]
    [InlineData("""[1]""")]
    [InlineData("""{not json""")]
    public async Task Relink_with_a_bad_body_is_a_kombo_input_invalid(string body)
    {
        using var kombo = emulator.CreateKomboClient();
        var token = await emulator.Client.IssueTokensAsync(1);

        using var response = await kombo.PostJsonAsync($"integrations/{token[0].IntegrationId}/relink", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.INPUT_INVALID");
    }

    [Fact]
    public async Task Relink_needs_the_api_key()
    {
        using var kombo = emulator.CreateKomboClient(apiKey: "wrong");

        using var response = await kombo.PostJsonAsync("integrations/personio:any/relink", "{}");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.AUTHENTICATION_INVALID");
    }
}
