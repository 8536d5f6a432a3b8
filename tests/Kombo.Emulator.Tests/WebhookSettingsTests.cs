using Kombo.Emulator.Webhooks;
using Kombo.Testing;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Tests;

public sealed class WebhookSettingsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:9/hooks", null)]
    [InlineData("/relative/hooks", "secret")]
    [InlineData("ftp://127.0.0.1/hooks", "secret")]
    public async Task Emulator_does_not_start_with_a_bad_webhook_url_or_without_a_secret(string url, string? secret)
    {
        var start = KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:WebhookUrl"] = url,
            ["Emulator:WebhookSecret"] = secret,
        });

        await Assert.ThrowsAsync<OptionsValidationException>(() => start);
    }

    [Fact]
    public async Task Without_a_webhook_url_no_webhook_is_made()
    {
        await using var emulator = await KomboEmulatorFixture.StartAsync();
        using var kombo = emulator.CreateKomboClient();

        var completed = await emulator.Client.CompleteLinkAsync(await kombo.CreateLinkAsync());
        await emulator.Client.DeleteIntegrationAsync(completed.IntegrationId);

        Assert.Equal(new WebhookCounts(0, 0, 0, 0, 0, 0, 0), await emulator.Client.GetWebhookStatsAsync());
    }

    [Fact]
    public async Task Webhook_never_acknowledged_is_abandoned_after_give_up_after_and_the_next_one_goes()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var emulator = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Emulator:WebhookUrl"] = receiver.Url,
            ["Emulator:WebhookSecret"] = "secret",
            ["Emulator:WebhookRetry:InitialDelay"] = "00:00:00.010",
            ["Emulator:WebhookRetry:MaxDelay"] = "00:00:00.050",
            // Long beside the retry delays: a first attempt slowed by a loaded machine still leaves time for a retry.
            ["Emulator:WebhookRetry:GiveUpAfter"] = "00:00:02",
        });
        using var kombo = emulator.CreateKomboClient();
        receiver.FailNext(int.MaxValue);
        var completed = await emulator.Client.CompleteLinkAsync(await kombo.CreateLinkAsync());

        Assert.True(await Eventually.UntilAsync(async () => await AbandonedAsync(emulator) == 1, TimeSpan.FromSeconds(10)));
        receiver.FailNext(0);
        await emulator.Client.DeleteIntegrationAsync(completed.IntegrationId);
        var acknowledged = await receiver.WaitForAcknowledgedAsync(1);

        Assert.Equal("integration-deleted", Assert.Single(acknowledged).Type);
        // The receiver has answered; the emulator counts the delivery once that answer reaches it.
        Assert.True(await Eventually.UntilAsync(async () => (await emulator.Client.GetWebhookStatsAsync()).Pending == 0, TimeSpan.FromSeconds(10)));
        var report = await (await emulator.Admin.GetAsync("emulator/webhooks")).JsonAsync();
        Assert.True(receiver.Received.Count >= 3, "the first webhook was retried before it was given up");
        Assert.Equal(0, report.GetProperty("counts").GetProperty("pending").GetInt64());
        Assert.Equal(["abandoned", "delivered"], report.GetProperty("webhooks").EnumerateArray().Select(w => w.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Out_of_process_emulator_takes_the_webhook_options_and_its_client_waits_for_delivery()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var emulator = await EmulatorProcess.StartAsync(new EmulatorProcessOptions
        {
            WebhookUrl = receiver.Url,
            WebhookSecret = "process-secret",
        });
        using var kombo = new HttpClient { BaseAddress = new Uri(emulator.KomboBaseUrl) };
        kombo.DefaultRequestHeaders.Authorization = new("Bearer", EmulatorProcess.ApiKey);
        receiver.FailNext(1);

        var completed = await emulator.Client.CompleteLinkAsync(await kombo.CreateLinkAsync());
        await emulator.Client.SetIntegrationStateAsync(completed.IntegrationId, "INVALID", qaStatus: "FAILED");
        await emulator.Client.WaitForWebhooksDeliveredAsync(TimeSpan.FromSeconds(20));

        var stats = await emulator.Client.GetWebhookStatsAsync();
        Assert.Equal((2L, 2L, 0L), (stats.Queued, stats.Delivered, stats.Pending));
        Assert.True(stats.FailedAttempts >= 1);
        Assert.All(receiver.Acknowledged, w => Assert.Equal(KomboSignature.Compute("process-secret", w.Body), w.Signature));
    }

    private static async Task<long> AbandonedAsync(KomboEmulatorFixture emulator)
    {
        using var response = await emulator.Admin.GetAsync("emulator/webhooks");
        return (await response.JsonAsync()).GetProperty("counts").GetProperty("abandoned").GetInt64();
    }
}
