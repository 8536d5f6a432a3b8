using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.KomboApi;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// The webhook listener as the worker runs it (Kestrel on a port of its own, the same limits and endpoint), over the
/// worker's real store and outbox on MassTransit's in-memory harness. For tests that speak to it over sockets.
/// </summary>
internal sealed class WebhookListenerHost : IAsyncDisposable
{
    public const string Secret = "whsec-listener-test-secret";

    private readonly WebApplication _app;
    private readonly TempDirectory _directory;

    private WebhookListenerHost(WebApplication app, TempDirectory directory, int port, CapturingLoggerProvider logs)
    {
        _app = app;
        _directory = directory;
        Port = port;
        Logs = logs;
        Metrics = new MeterReadings(app.Services.GetRequiredService<WorkerMetrics>().Meter);
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}{WebhookOptions.Path}");

    public CapturingLoggerProvider Logs { get; }

    public MeterReadings Metrics { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<WebhookListenerHost> StartAsync(Dictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var directory = new TempDirectory();
        var port = FreePorts.Pick();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = directory.Path, EnvironmentName = "Test" });
        builder.Configuration.AddInMemoryCollection(await TestStorage.SettingsAsync(directory));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Webhooks:Urls"] = $"http://127.0.0.1:{port}",
            ["Kombo:WebhookSecret"] = Secret,
            ["Kombo:BaseUrl"] = "http://kombo.test/v1/",
            ["Kombo:ApiKey"] = Harness.ApiKey,
            ["Outbox:PollInterval"] = "00:00:00.050",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Information);

        var services = builder.Services;
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddStorage(builder.Configuration)
            .AddKomboApi(builder.Configuration)
            .AddMessagingOptions(builder.Configuration);
        services.AddHttpClient<KomboClient>().ConfigurePrimaryHttpMessageHandler(() => new FakeKombo());
        services.AddMassTransitTestHarness(bus => bus.AddConnectConsumers());
        services.AddOutbox(builder.Configuration);
        services.AddConnect();
        services.AddWebhooks(builder.Configuration);
        builder.WebHost.WorkerHostAddresses(builder.Configuration);

        var app = builder.Build();
        app.UseKomboWebhooks();
        await app.StartAsync();
        return new WebhookListenerHost(app, directory, port, logs);
    }

    /// <summary>The lines written by the webhook listener's own loggers (not the store's or the bus's).</summary>
    public IReadOnlyList<string> WebhookLogLines() =>
        Logs.Lines.Where(line => line.StartsWith("Kombo.Worker.Connect.Webhooks", StringComparison.Ordinal)).ToList();

    public async ValueTask DisposeAsync()
    {
        Metrics.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _directory.Dispose();
    }
}
