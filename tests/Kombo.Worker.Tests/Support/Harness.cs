using Dapper;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// The worker's real consumers, SQLite store, outbox and Kombo client on MassTransit's in-memory harness, with a
/// <see cref="FakeKombo"/> behind the HTTP client. One per test.
/// </summary>
internal sealed class Harness : IAsyncDisposable
{
    public const string ApiKey = "test-api-key";

    private readonly TempDirectory _directory;
    private readonly ServiceProvider _provider;

    private Harness(ServiceProvider provider, FakeKombo kombo, TempDirectory directory)
    {
        _provider = provider;
        _directory = directory;
        Kombo = kombo;
        Bus = provider.GetRequiredService<ITestHarness>();
    }

    public ITestHarness Bus { get; }

    public FakeKombo Kombo { get; }

    public IServiceProvider Services => _provider;

    public static async Task<Harness> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var kombo = new FakeKombo();
        var directory = new TempDirectory();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:DatabasePath"] = directory.File("worker.db"),
                ["Kombo:BaseUrl"] = "http://kombo.test/v1/",
                ["Kombo:ApiKey"] = ApiKey,
                ["Kombo:AttemptTimeout"] = "00:00:02",
                ["Kombo:TotalTimeout"] = "00:00:05",
                ["Kombo:MaxRetryAttempts"] = "2",
                ["Kombo:RetryBaseDelay"] = "00:00:00.001",
                ["Kombo:RetryMaxDelay"] = "00:00:00.010",
                ["Messaging:KomboRedeliveryIntervals:0"] = "00:00:00.010",
                ["Messaging:KomboRedeliveryIntervals:1"] = "00:00:00.010",
                ["Outbox:PollInterval"] = "00:00:00.050",
                ["Outbox:RetryBaseDelay"] = "00:00:00.001",
                ["Outbox:RetryMaxDelay"] = "00:00:00.010",
                ["Outbox:MaxAttempts"] = "3",
            })
            .AddInMemoryCollection(settings ?? [])
            .Build();

        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<IHostEnvironment>(new TestHostEnvironment(directory.Path))
            .AddSingleton(TimeProvider.System)
            .AddStorage(configuration)
            .AddKomboApi(configuration)
            .AddMessagingOptions(configuration);
        services.AddHttpClient<KomboClient>().ConfigurePrimaryHttpMessageHandler(() => kombo);
        services.AddMassTransitTestHarness(bus =>
        {
            bus.AddConnectConsumers();
            bus.SetTestTimeouts(testTimeout: TimeSpan.FromSeconds(30), testInactivityTimeout: TimeSpan.FromSeconds(3));
        });
        services.AddOutbox(configuration);
        services.AddConnect();
        services.AddWebhooks(configuration);

        var harness = new Harness(services.BuildServiceProvider(), kombo, directory);
        await harness.Bus.Start();
        return harness;
    }

    public SqliteConnection OpenDatabase() => _provider.GetRequiredService<SqliteDatabase>().Open();

    public long Count(string sql, object? parameters = null)
    {
        using var connection = OpenDatabase();
        return connection.ExecuteScalar<long>(sql, parameters);
    }

    public void Execute(string sql, object? parameters = null)
    {
        using var connection = OpenDatabase();
        connection.Execute(sql, parameters);
    }

    public IntegrationLifecycle Webhooks => _provider.GetRequiredService<IntegrationLifecycle>();

    public WebhookEndpoint WebhookEndpoint => _provider.GetRequiredService<WebhookEndpoint>();

    /// <summary>Stops the hosted relay, so what it published and marked stays as it is while a test looks.</summary>
    public Task StopRelayAsync() => _provider.GetRequiredService<OutboxRelay>().StopAsync(CancellationToken.None);

    /// <summary>Waits, bounded, until <paramref name="condition"/> holds.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(20)).TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Bus.Stop();
        await _provider.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
