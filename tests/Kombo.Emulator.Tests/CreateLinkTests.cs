using System.Net;
using System.Text.Json;
using Kombo.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Emulator.Tests;

public sealed class CreateLinkTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>
{
    [Fact]
    public async Task Valid_request_is_answered_with_a_success_envelope_holding_a_connect_link()
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link", KomboHttp.ValidCreateLinkBody);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("success", body.GetProperty("status").GetString());
        var link = new Uri(body.GetProperty("data").GetProperty("link").GetString()!);
        Assert.Equal(emulator.Root.Authority, link.Authority);
        Assert.Equal("/connect/v1", link.AbsolutePath);
        Assert.StartsWith("?token=", link.Query, StringComparison.Ordinal);
        Assert.Single(body.GetProperty("data").EnumerateObject());
    }

    [Fact]
    public async Task Minimal_request_with_an_unlisted_tool_is_accepted()
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link",
            """{"end_user_email":"x@example.com","end_user_organization_name":"X","integration_tool":"some-tool-kombo-added-later"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Each_link_carries_a_different_token()
    {
        using var kombo = emulator.CreateKomboClient();

        var first = await kombo.CreateLinkAsync();
        var second = await kombo.CreateLinkAsync();

        Assert.NotEqual(first, second);
    }

    [Theory]
    [InlineData("""{"end_user_organization_name":"Acme"}""", "end_user_email")]
    [InlineData("""{"end_user_email":"not-an-email","end_user_organization_name":"Acme"}""", "end_user_email")]
    [InlineData("""{"end_user_email":null,"end_user_organization_name":"Acme"}""", "end_user_email")]
    [InlineData("""{"end_user_email":"a@acme.test"}""", "end_user_organization_name")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":""}""", "end_user_organization_name")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","end_user_origin_id":""}""", "end_user_origin_id")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","end_user_origin_id":42}""", "end_user_origin_id")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","integration_category":"CRM"}""", "integration_category")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","integration_category":null}""", "integration_category")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","integration_tool":""}""", "integration_tool")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","language":"pl"}""", "language")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","link_type":"FOREVER"}""", "link_type")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","link_type":null}""", "link_type")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","enable_filtering":null}""", "enable_filtering")]
    [InlineData("""{"end_user_email":"a@acme.test","end_user_organization_name":"Acme","remote_environment":"sandbox"}""", "remote_environment")]
    [InlineData("""["end_user_email"]""", "object")]
    public async Task Invalid_body_is_answered_400_with_a_kombo_input_invalid_error_naming_the_field(string body, string field)
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.KomboErrorAsync("PLATFORM.INPUT_INVALID");
        Assert.Equal("Input invalid", error.GetProperty("title").GetString());
        Assert.Contains(field, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"end_user_email\":")]
    [InlineData("")]
    public async Task Malformed_json_is_answered_400_with_a_kombo_input_invalid_error(string body)
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.PostJsonAsync("connect/create-link", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await response.KomboErrorAsync("PLATFORM.INPUT_INVALID");
    }

    [Fact]
    public async Task Embedded_link_expires_after_an_hour_and_a_magic_link_lives_on()
    {
        var time = new FakeTimeProvider();
        await using var own = await KomboEmulatorFixture.StartAsync(time);
        using var kombo = own.CreateKomboClient();
        var embedded = await kombo.CreateLinkAsync();
        var magic = await kombo.CreateLinkAsync(KomboHttp.ValidCreateLinkBody.Replace("EMBEDDED", "MAGIC_LINK", StringComparison.Ordinal));

        time.Advance(TimeSpan.FromMinutes(61));

        using var expired = await own.Admin.PostJsonAsync("emulator/links/complete", JsonSerializer.Serialize(new { link = embedded }));
        Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
        time.Advance(TimeSpan.FromDays(300));
        Assert.StartsWith("personio:", (await own.Client.CompleteLinkAsync(magic)).IntegrationId, StringComparison.Ordinal);
    }
}
