using System.Text.Json;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

public sealed class StatsTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    public Task InitializeAsync() => emulator.Client.ResetAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Stats_count_calls_per_endpoint_and_by_status()
    {
        using var kombo = emulator.CreateKomboClient();
        var token = await emulator.CompleteLinkAsync(await kombo.CreateLinkAsync());
        (await kombo.GetAsync($"connect/integration-by-token/{token}")).Dispose();
        (await kombo.GetAsync("connect/integration-by-token/unknown")).Dispose();
        var another = await emulator.CompleteLinkAsync(await kombo.CreateLinkAsync());
        (await kombo.PostJsonAsync("connect/activate-integration", JsonSerializer.Serialize(new { token = another }))).Dispose();

        var stats = await emulator.Client.GetStatsAsync();

        Assert.Equal(5, stats.TotalCalls);
        Assert.Equal(2, stats.Endpoints.CreateLink);
        Assert.Equal(2, stats.Endpoints.IntegrationByToken);
        Assert.Equal(1, stats.Endpoints.ActivateIntegration);
        Assert.Equal(4, stats.StatusCodes["200"]);
        Assert.Equal(1, stats.StatusCodes["404"]);
        Assert.Equal(2, stats.LinksCreated);
        Assert.Equal(2, stats.TokensIssued);
        Assert.Equal(2, stats.TokensRedeemed);
    }

    [Fact]
    public async Task Stats_are_exact_under_parallel_load_and_reset_to_zero()
    {
        using var kombo = emulator.CreateKomboClient();
        var tokens = await emulator.Client.IssueTokensAsync(400);

        await Parallel.ForEachAsync(tokens, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (issued, cancel) =>
        {
            using var response = await kombo.GetAsync($"connect/integration-by-token/{issued.Token}", cancel);
            response.EnsureSuccessStatusCode();
        });
        var counted = await emulator.Client.GetStatsAsync();
        using var reset = await emulator.Admin.DeleteAsync("emulator/stats");
        var zeroed = await emulator.Client.GetStatsAsync();

        Assert.Equal(400, counted.TotalCalls);
        Assert.Equal(400, counted.TokensRedeemed);
        Assert.Equal(400, counted.StatusCodes["200"]);
        Assert.Equal(0, zeroed.TotalCalls);
        Assert.Empty(zeroed.StatusCodes);
    }
}
