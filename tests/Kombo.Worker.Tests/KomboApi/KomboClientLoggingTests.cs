using Kombo.Worker.KomboApi;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboClientLoggingTests
{
    [Fact]
    public async Task Logs_never_contain_the_api_key_a_token_a_link_or_a_url()
    {
        using var host = KomboClientHost.Create();
        const string token = "tok_SECRET_9d2f";
        const string link = "https://connect.kombo.dev/v1?token=LINK_SECRET_77aa";
        host.Kombo
            .Then(() => KomboResponses.Text(503, "busy"))
            .ThenThrow(new HttpRequestException("Connection reset"))
            .Then(() => KomboResponses.Integration())
            .Then(() => KomboResponses.Link(link))
            .Then(() => KomboResponses.Error(400, "PLATFORM.INPUT_INVALID", "bad"));

        await host.Client.GetIntegrationByTokenAsync(token, CancellationToken.None);
        await host.Client.CreateLinkAsync(new CreateLinkRequest { EndUserEmail = "a@b.test", EndUserOrganizationName = "B" }, CancellationToken.None);
        await host.Client.ActivateIntegrationAsync(token, CancellationToken.None);

        Assert.Contains(host.Logs.Lines, line => line.StartsWith("Polly", StringComparison.Ordinal) && line.Contains("HTTP 503", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Lines, line => line.Contains("integration-by-token", StringComparison.Ordinal) && line.Contains("503", StringComparison.Ordinal));
        Assert.All(host.Logs.Lines, line =>
        {
            Assert.DoesNotContain(KomboClientHost.ApiKey, line, StringComparison.Ordinal);
            Assert.DoesNotContain(token, line, StringComparison.Ordinal);
            Assert.DoesNotContain("LINK_SECRET", line, StringComparison.Ordinal);
            Assert.DoesNotContain("kombo.test/", line, StringComparison.Ordinal);
        });
    }
}
