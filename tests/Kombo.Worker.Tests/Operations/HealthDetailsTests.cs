using System.Net;
using System.Text.Json;
using Kombo.Worker.Operations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kombo.Worker.Tests.Operations;

/// <summary>What <c>/health/ready</c> tells whoever reaches the port: the statuses always, the details only when asked.</summary>
public sealed class HealthDetailsTests
{
    private const string DatabaseHost = "db.internal.example:5432/kombo";
    private const string BrokerEndpoint = "rabbitmq://broker.internal.example/create-connect-link";

    [Fact]
    public async Task Ready_shows_the_statuses_but_no_database_or_broker_details_by_default()
    {
        var (status, body) = await GetReadyAsync(settings: [], healthy: false);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Unhealthy", json.RootElement.GetProperty("status").GetString());
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("Unhealthy", checks.GetProperty("masstransit-bus").GetProperty("status").GetString());
        Assert.DoesNotContain("internal.example", body, StringComparison.Ordinal);
        Assert.False(checks.GetProperty("database").TryGetProperty("data", out _));
    }

    [Fact]
    public async Task Ready_shows_the_details_when_Health_Details_is_true()
    {
        var (status, body) = await GetReadyAsync(new() { ["Health:Details"] = "true" }, healthy: true);

        Assert.Equal(HttpStatusCode.OK, status);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        var database = json.RootElement.GetProperty("checks").GetProperty("database");
        Assert.Equal(DatabaseHost, database.GetProperty("data").GetProperty("database").GetString());
        Assert.Contains(BrokerEndpoint, body, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetReadyAsync(Dictionary<string, string?> settings, bool healthy)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddTelemetry(builder.Configuration);
        builder.Services.AddHealth(builder.Configuration);
        builder.Services.AddHealthChecks()
            .AddCheck("database", () => HealthCheckResult.Healthy("A write committed.",
                new Dictionary<string, object> { ["provider"] = "PostgreSql", ["database"] = DatabaseHost }), [HealthServiceCollectionExtensions.ReadyTag])
            .AddCheck("masstransit-bus", () => new HealthCheckResult(healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy,
                $"Not ready: {BrokerEndpoint}", data: new Dictionary<string, object> { ["endpoints"] = BrokerEndpoint }),
                [HealthServiceCollectionExtensions.ReadyTag]);
        await using var app = builder.Build();
        app.UseOperationsEndpoints();
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var http = new HttpClient();
            using var response = await http.GetAsync(new Uri(new Uri(address), OperationsEndpoints.ReadyPath));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
