using System.Text;
using System.Text.Json;
using Kombo.Contracts;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.Connect.Webhooks;

public sealed class WebhookEndpointTests
{
    private const string Secret = "whsec-endpoint-test";

    private static Task<Harness> StartAsync() => Harness.StartAsync(new() { ["Kombo:WebhookSecret"] = Secret });

    private static async Task<(int Status, string Body)> PostAsync(
        Harness harness, string body, string? signature = null, bool sign = true, string path = WebhookOptions.Path, string method = "POST")
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = path;
        http.Request.Body = new MemoryStream(bytes);
        http.Request.ContentLength = bytes.Length;
        if (sign)
        {
            http.Request.Headers[WebhookSignature.Header] = signature ?? WebhookSignature.Compute(Secret, bytes);
        }

        var response = new MemoryStream();
        http.Response.Body = response;
        await harness.WebhookEndpoint.HandleAsync(http);
        return (http.Response.StatusCode, Encoding.UTF8.GetString(response.ToArray()));
    }

    [Fact]
    public async Task Signed_webhook_is_committed_and_answered_200()
    {
        await using var harness = await StartAsync();

        var (status, _) = await PostAsync(harness, WebhookJson.Created("evt-1", "personio:A"));

        Assert.Equal(200, status);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM inbox WHERE consumer = 'kombo-webhook'"));
        Assert.True(await harness.Bus.Published.Any<IntegrationCreated>());
    }

    [Fact]
    public async Task Same_webhook_again_is_answered_200_with_no_second_effect()
    {
        await using var harness = await StartAsync();
        var body = WebhookJson.Created("evt-1", "personio:A");

        Assert.Equal(200, (await PostAsync(harness, body)).Status);
        Assert.Equal(200, (await PostAsync(harness, body)).Status);

        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'IntegrationCreated'"));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, "bm90LXRoZS1yaWdodC1tYWM")]
    public async Task Missing_or_wrong_signature_is_401_and_records_nothing(bool sign, string? signature)
    {
        await using var harness = await StartAsync();

        var (status, body) = await PostAsync(harness, WebhookJson.Created("evt-1", "personio:A"), signature, sign);

        Assert.Equal(401, status);
        Assert.Equal("", body);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM inbox"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM integrations"));
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        await using var harness = await Harness.StartAsync(new() { ["Kombo:WebhookSecret"] = Secret, ["Webhooks:MaxBodyBytes"] = "262144" });
        var huge = JsonSerializer.Serialize(new { id = "evt", type = "integration-created", data = new { pad = new string('x', 300 * 1024) } });

        Assert.Equal(413, (await PostAsync(harness, huge)).Status);
    }

    [Fact]
    public async Task Signed_but_unreadable_webhook_is_400_with_the_reason()
    {
        await using var harness = await StartAsync();

        var (status, body) = await PostAsync(harness, """{"id":"evt-1","type":"integration-created","data":{"tool":"personio"}}""");

        Assert.Equal(400, status);
        Assert.Contains("data.id is required", body, StringComparison.Ordinal);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM inbox"));
    }

    [Fact]
    public async Task Integration_created_without_creator_email_is_committed()
    {
        await using var harness = await StartAsync();

        var (status, body) = await PostAsync(harness, """
            {"id":"evt-2","type":"integration-created","data":{"id":"personio:B","tool":"personio","category":"HRIS",
             "end_user":{"organization_name":"Acme, Inc.","origin_id":"customer-1"}}}
            """);

        Assert.Equal(200, status);
        Assert.Equal("", body);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations WHERE integration_id = 'personio:B'"));
    }

    [Fact]
    public async Task Unknown_type_is_200_and_changes_nothing()
    {
        await using var harness = await StartAsync();

        var (status, _) = await PostAsync(harness, """{"id":"evt-9","type":"sync-finished","data":{}}""");

        Assert.Equal(200, status);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM inbox"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox"));
    }

    [Fact]
    public async Task Storage_failure_is_503_so_kombo_delivers_again()
    {
        await using var harness = await StartAsync();
        // A writer that has stopped refuses every write, as a disk that went away would.
        await harness.StopWriterAsync();

        var (status, _) = await PostAsync(harness, WebhookJson.Created("evt-1", "personio:A"));

        Assert.Equal(503, status);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM integrations"));
    }

    [Theory]
    [InlineData("/health/ready", "POST")]
    [InlineData(WebhookOptions.Path, "GET")]
    public async Task Only_post_to_the_webhook_path_is_served(string path, string method)
    {
        await using var harness = await StartAsync();

        var (status, _) = await PostAsync(harness, "{}", path: path, method: method);

        Assert.Equal(path == WebhookOptions.Path ? 405 : 404, status);
    }
}
