using Kombo.Testing;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The real worker host (the same services as Program.cs) on a virtual host of the test broker, with the emulator as
/// Kombo and a SQLite file of its own.
/// </summary>
public sealed class WorkerUnderTest : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WorkerUnderTest(WebApplication app, string directory)
    {
        _app = app;
        Directory = directory;
    }

    public string Directory { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The worker's HTTP listener (health endpoints, <c>/metrics</c>) on the port the OS chose.</summary>
    public Uri BaseAddress => new(_app.Urls.First());

    /// <param name="configure">Runs last before the host is built: extra logging providers, service overrides.</param>
    public static async Task<WorkerUnderTest> StartAsync(
        RabbitMqBroker broker, string virtualHost, KomboEmulatorFixture kombo, Dictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("kombo-worker-it-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = directory,
            EnvironmentName = "Test",
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["RabbitMq:Host"] = broker.Node.Host,
            ["RabbitMq:Port"] = broker.Node.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RabbitMq:VirtualHost"] = virtualHost,
            ["RabbitMq:Username"] = broker.Node.Username,
            ["RabbitMq:Password"] = broker.Node.Password,
            ["Kombo:BaseUrl"] = kombo.BaseAddress.ToString(),
            ["Kombo:ApiKey"] = kombo.ApiKey,
            ["Kombo:AttemptTimeout"] = "00:00:02",
            ["Kombo:TotalTimeout"] = "00:00:05",
            ["Kombo:RetryBaseDelay"] = "00:00:00.010",
            ["Kombo:RetryMaxDelay"] = "00:00:00.100",
            ["Messaging:KomboRedeliveryIntervals:0"] = "00:00:00.100",
            ["Storage:DatabasePath"] = Path.Combine(directory, "worker.db"),
            ["Outbox:RetryBaseDelay"] = "00:00:00.050",
            ["Outbox:RetryMaxDelay"] = "00:00:00.500",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Logging.ClearProviders();
        builder.Services.AddWorker(builder.Configuration);
        builder.WebHost.WorkerHostAddresses(builder.Configuration);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapWorkerEndpoints();
        await app.StartAsync();
        return new WorkerUnderTest(app, directory);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS cleans temp folders.
        }
    }
}
