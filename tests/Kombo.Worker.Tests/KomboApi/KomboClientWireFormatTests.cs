using Kombo.Worker.KomboApi;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboClientWireFormatTests
{
    [Fact]
    public async Task Create_link_posts_snake_case_json_without_nulls_with_the_bearer_key()
    {
        using var host = KomboClientHost.Create();

        var result = await host.Client.CreateLinkAsync(new CreateLinkRequest
        {
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-1",
            IntegrationCategory = "HRIS",
            EnableFiltering = false,
        }, CancellationToken.None);

        Assert.Equal("https://connect.kombo.dev/v1?token=link-token", result.Value?.Link);
        var request = Assert.Single(host.Kombo.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://kombo.test/v1/connect/create-link", request.Uri.AbsoluteUri);
        Assert.Equal($"Bearer {KomboClientHost.ApiKey}", request.Authorization);
        Assert.Equal("application/json", request.Accept);
        Assert.Equal("application/json; charset=utf-8", request.ContentType);
        Assert.Equal(
            """{"end_user_email":"admin@acme.test","end_user_organization_name":"Acme, Inc.","end_user_origin_id":"customer-1","integration_category":"HRIS","enable_filtering":false}""",
            request.Body);
    }

    [Fact]
    public async Task The_token_is_percent_encoded_into_the_by_token_path()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Integration());

        await host.Client.GetIntegrationByTokenAsync("a/b c+d?e#f", CancellationToken.None);

        var request = Assert.Single(host.Kombo.Requests);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("http://kombo.test/v1/connect/integration-by-token/a%2Fb%20c%2Bd%3Fe%23f", request.Uri.AbsoluteUri);
        Assert.Equal($"Bearer {KomboClientHost.ApiKey}", request.Authorization);
        Assert.Null(request.Body);
    }

    [Fact]
    public async Task Activate_integration_posts_the_token_in_the_body()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Integration());

        var result = await host.Client.ActivateIntegrationAsync("eyJ.token", CancellationToken.None);

        Assert.True(result.IsSuccess);
        var request = Assert.Single(host.Kombo.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://kombo.test/v1/connect/activate-integration", request.Uri.AbsoluteUri);
        Assert.Equal("""{"token":"eyJ.token"}""", request.Body);
    }

    [Fact]
    public async Task A_base_url_without_trailing_slash_keeps_its_version_segment()
    {
        using var host = KomboClientHost.Create(new() { ["Kombo:BaseUrl"] = "http://kombo.test/v1" });

        await host.Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None);

        Assert.Equal("http://kombo.test/v1/connect/create-link", Assert.Single(host.Kombo.Requests).Uri.AbsoluteUri);
    }

    [Fact]
    public async Task The_flat_by_token_data_is_read_including_a_null_origin_and_email()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Integration(originId: null, email: null));

        var result = await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);

        Assert.Equal(
            new ConnectedIntegration("personio", "personio:CBNMt7dSNCzBdnRTx87dev4E", null, "Acme, Inc.", null, "FINAL_SYNC_PENDING"),
            result.Value);
        Assert.Null(result.Error);
    }

    [Theory]
    [InlineData("<html>ok</html>")]
    [InlineData("")]
    [InlineData("""{"status":"success"}""")]
    [InlineData("""{"status":"success","data":{"tool":"personio","setup_status":"COMPLETED"}}""")]
    [InlineData("""{"status":"success","data":{"id":7}}""")]
    public async Task A_200_without_a_readable_success_body_is_a_permanent_error(string body)
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Raw(200, body));

        var result = await host.Client.GetIntegrationByTokenAsync("token-1", CancellationToken.None);

        Assert.Equal(new KomboError(200, null, null, "HTTP 200 without a readable Kombo success body", null), result.Error);
        Assert.Equal(1, host.Kombo.Calls);
    }

    [Fact]
    public async Task A_200_carrying_a_Kombo_error_object_keeps_that_error()
    {
        using var host = KomboClientHost.Create();
        host.Kombo.Always(() => KomboResponses.Error(200, "PLATFORM.INPUT_INVALID", "Nope."));

        var result = await host.Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None);

        Assert.Equal("PLATFORM.INPUT_INVALID", result.Error?.Code);
        Assert.Equal(200, result.Error?.HttpStatus);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(" ")]
    public async Task A_token_that_cannot_be_a_path_segment_is_refused_before_any_call(string token)
    {
        using var host = KomboClientHost.Create();

        await Assert.ThrowsAsync<ArgumentException>(() => host.Client.GetIntegrationByTokenAsync(token, CancellationToken.None));

        Assert.Equal(0, host.Kombo.Calls);
    }
}
