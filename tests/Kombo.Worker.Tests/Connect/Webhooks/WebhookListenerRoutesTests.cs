using System.Net;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.Tests.Support;

namespace Kombo.Worker.Tests.Connect.Webhooks;

/// <summary>
/// The webhook listener answers exactly <c>POST /kombo/webhooks</c>, over its socket: no health or metrics path, and
/// no near variant of its own (endpoint routing would match a trailing slash or another case).
/// </summary>
public sealed class WebhookListenerRoutesTests
{
    [Theory]
    [InlineData("POST", "/health/ready", HttpStatusCode.NotFound)]
    [InlineData("GET", "/metrics", HttpStatusCode.NotFound)]
    [InlineData("POST", WebhookOptions.Path + "/", HttpStatusCode.NotFound)]
    [InlineData("POST", "/KOMBO/WEBHOOKS", HttpStatusCode.NotFound)]
    [InlineData("GET", WebhookOptions.Path, HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", WebhookOptions.Path, HttpStatusCode.Unauthorized)]
    public async Task Only_post_to_the_webhook_path_is_served(string method, string path, HttpStatusCode expected)
    {
        await using var host = await WebhookListenerHost.StartAsync();
        using var http = new HttpClient();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(host.Address, path)));

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.MethodNotAllowed)
        {
            Assert.Equal(["POST"], response.Content.Headers.Allow);
        }
    }
}
