using System.Net;
using System.Text.Json;
using Kombo.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Emulator.Tests;

public sealed class TokenRedemptionTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>
{
    [Fact]
    public async Task Completed_link_gives_a_token_that_redeems_to_the_flat_integration_with_the_links_origin_id()
    {
        using var kombo = emulator.CreateKomboClient();
        var link = await kombo.CreateLinkAsync();
        var token = await emulator.CompleteLinkAsync(link);

        using var response = await kombo.GetAsync($"connect/integration-by-token/{token}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("success", body.GetProperty("status").GetString());
        var data = body.GetProperty("data");
        Assert.Equal(
            ["tool", "id", "end_user_origin_id", "end_user_organization_name", "end_user_email", "setup_status"],
            data.EnumerateObject().Select(p => p.Name));
        Assert.Equal("personio", data.GetProperty("tool").GetString());
        Assert.Matches("^personio:[A-Za-z0-9]{24}$", data.GetProperty("id").GetString());
        Assert.Equal("customer-1", data.GetProperty("end_user_origin_id").GetString());
        Assert.Equal("Acme, Inc.", data.GetProperty("end_user_organization_name").GetString());
        Assert.Equal("admin@acme.test", data.GetProperty("end_user_email").GetString());
        Assert.Equal("COMPLETED", data.GetProperty("setup_status").GetString());
    }

    [Fact]
    public async Task Link_without_an_origin_id_redeems_to_a_null_origin_id()
    {
        using var kombo = emulator.CreateKomboClient();
        var link = await kombo.CreateLinkAsync("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme"}""");
        var token = await emulator.CompleteLinkAsync(link, tool: "hibob", setupStatus: "INCOMPLETE");

        using var response = await kombo.GetAsync($"connect/integration-by-token/{token}");

        var data = (await response.JsonAsync()).GetProperty("data");
        Assert.Equal(JsonValueKind.Null, data.GetProperty("end_user_origin_id").ValueKind);
        Assert.Equal("hibob", data.GetProperty("tool").GetString());
        Assert.Equal("INCOMPLETE", data.GetProperty("setup_status").GetString());
    }

    [Fact]
    public async Task Completing_a_link_without_a_tool_needs_one_from_the_end_user()
    {
        using var kombo = emulator.CreateKomboClient();
        var link = await kombo.CreateLinkAsync("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme"}""");

        using var response = await emulator.Admin.PostJsonAsync("emulator/links/complete", JsonSerializer.Serialize(new { link }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Deprecated_activate_integration_answers_like_integration_by_token()
    {
        await using var reusable = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:SingleUseTokens"] = "false",
        });
        using var kombo = reusable.CreateKomboClient();
        var token = await reusable.CompleteLinkAsync(await kombo.CreateLinkAsync());
        using var byToken = await kombo.GetAsync($"connect/integration-by-token/{token}");

        using var activated = await kombo.PostJsonAsync("connect/activate-integration", JsonSerializer.Serialize(new { token }));

        Assert.Equal(HttpStatusCode.OK, activated.StatusCode);
        Assert.Equal((await byToken.JsonAsync()).GetRawText(), (await activated.JsonAsync()).GetRawText());
    }

    [Fact]
    public async Task Unknown_token_is_answered_with_a_kombo_input_invalid_error()
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.GetAsync("connect/integration-by-token/not-a-token");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await response.KomboErrorAsync("PLATFORM.INPUT_INVALID");
        Assert.Contains("invalid or has expired", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_fails_on_its_second_redemption_by_default()
    {
        using var kombo = emulator.CreateKomboClient();
        var token = await emulator.CompleteLinkAsync(await kombo.CreateLinkAsync());

        using var first = await kombo.GetAsync($"connect/integration-by-token/{token}");
        using var second = await kombo.GetAsync($"connect/integration-by-token/{token}");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        await second.KomboErrorAsync("PLATFORM.INPUT_INVALID");
    }

    [Fact]
    public async Task Reusable_tokens_redeem_more_than_once_within_their_lifetime()
    {
        await using var own = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:SingleUseTokens"] = "false",
        });
        using var kombo = own.CreateKomboClient();
        var token = await own.CompleteLinkAsync(await kombo.CreateLinkAsync());

        using var first = await kombo.GetAsync($"connect/integration-by-token/{token}");
        using var second = await kombo.GetAsync($"connect/integration-by-token/{token}");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    [Fact]
    public async Task Expired_token_is_answered_404_with_a_kombo_input_invalid_error()
    {
        var time = new FakeTimeProvider();
        await using var own = await KomboEmulatorFixture.StartAsync(time, new Dictionary<string, string?>
        {
            ["Emulator:TokenLifetime"] = "00:05:00",
            ["Emulator:SingleUseTokens"] = "false",
        });
        using var kombo = own.CreateKomboClient();
        var token = await own.CompleteLinkAsync(await kombo.CreateLinkAsync());

        time.Advance(TimeSpan.FromMinutes(4));
        using var inTime = await kombo.GetAsync($"connect/integration-by-token/{token}");
        time.Advance(TimeSpan.FromMinutes(2));
        using var tooLate = await kombo.GetAsync($"connect/integration-by-token/{token}");

        Assert.Equal(HttpStatusCode.OK, inTime.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, tooLate.StatusCode);
        await tooLate.KomboErrorAsync("PLATFORM.INPUT_INVALID");
    }

    [Fact]
    public async Task Batch_issued_tokens_each_stand_for_a_different_customer_and_redeem()
    {
        using var kombo = emulator.CreateKomboClient();

        var tokens = await emulator.Client.IssueTokensAsync(50, tool: "bamboohr");

        Assert.Equal(50, tokens.Select(t => t.EndUserOriginId).Distinct().Count());
        Assert.Equal(50, tokens.Select(t => t.IntegrationId).Distinct().Count());
        var last = tokens[^1];
        using var response = await kombo.GetAsync($"connect/integration-by-token/{last.Token}");
        var data = (await response.JsonAsync()).GetProperty("data");
        Assert.Equal(last.IntegrationId, data.GetProperty("id").GetString());
        Assert.Equal(last.EndUserOriginId, data.GetProperty("end_user_origin_id").GetString());
        Assert.Equal("bamboohr", data.GetProperty("tool").GetString());
    }
}
