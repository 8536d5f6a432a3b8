using Kombo.Worker.KomboApi;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboApiRegistrationTests
{
    [Fact]
    public void The_real_handler_is_a_pooled_sockets_handler_with_the_configured_connection_limit_and_no_redirects()
    {
        using var provider = Provider(new() { ["Kombo:MaxConnectionsPerServer"] = "7" }).BuildServiceProvider();

        var primary = PrimaryHandler(provider);

        var sockets = Assert.IsType<SocketsHttpHandler>(primary);
        Assert.Equal(7, sockets.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromMinutes(2), sockets.PooledConnectionLifetime);
        Assert.False(sockets.AllowAutoRedirect);
    }

    [Fact]
    public void A_primary_handler_configured_after_AddKomboApi_replaces_the_network()
    {
        var fake = FakeKombo.AnsweringLinks(TimeProvider.System);
        var services = Provider([]);
        services.AddHttpClient<KomboClient>().ConfigurePrimaryHttpMessageHandler(() => fake);
        using var provider = services.BuildServiceProvider();

        Assert.Same(fake, PrimaryHandler(provider));
    }

    [Fact]
    public void The_http_client_leaves_timeouts_to_the_pipeline_and_sends_the_key_and_accept_headers()
    {
        using var provider = Provider(new() { ["Kombo:BaseUrl"] = "http://localhost:5080/v1" }).BuildServiceProvider();

        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(KomboClient));

        Assert.Equal(Timeout.InfiniteTimeSpan, http.Timeout);
        Assert.Equal(new Uri("http://localhost:5080/v1/"), http.BaseAddress);
        Assert.Equal($"Bearer {KomboClientHost.ApiKey}", http.DefaultRequestHeaders.Authorization?.ToString());
        Assert.Equal("application/json", http.DefaultRequestHeaders.Accept.ToString());
    }

    private static IServiceCollection Provider(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddLogging()
            .AddKomboApi(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Kombo:ApiKey"] = KomboClientHost.ApiKey })
                .AddInMemoryCollection(settings)
                .Build());

    private static HttpMessageHandler PrimaryHandler(IServiceProvider provider)
    {
        HttpMessageHandler handler = provider.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(nameof(KomboClient));
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler!;
        }

        return handler;
    }
}
