using System.Data.Common;
using Dapper;
using Kombo.Testing;
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
/// The worker's real consumers, store (<see cref="TestStorage"/>: a SQLite file or a PostgreSQL database of the test's
/// own), outbox and Kombo client on MassTransit's in-memory harness, with a <see cref="FakeKombo"/> behind the HTTP
/// client. One per test.
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

    /// <param name="replace">Registers test doubles over the worker's own services (the last registration wins).</param>
    public static async Task<Harness> StartAsync(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? replace = null)
    {
        var kombo = new FakeKombo();
        var directory = new TempDirectory();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(await TestStorage.SettingsAsync(directory))
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
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
        replace?.Invoke(services);

        var harness = new Harness(services.BuildServiceProvider(), kombo, directory);
        await harness.Bus.Start();
        return harness;
    }

    public IDatabase Database => _provider.GetRequiredService<IDatabase>();

    public IDatabaseWriter Writer => _provider.GetRequiredService<IDatabaseWriter>();

    public DbConnection OpenDatabase() => Database.Open();

    /// <summary>A trigger that fails the writes <paramref name="when"/> names on <paramref name="table"/> (see <see cref="InjectedFailure"/>).</summary>
    public InjectedFailure FailWrites(string name, string when, string table, string message) =>
        InjectedFailure.Add(Database, name, when, table, message);

    /// <summary>Stops the writer, which then refuses every write, as a disk that went away would.</summary>
    public ValueTask StopWriterAsync() => ((IAsyncDisposable)Writer).DisposeAsync();

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

    public async ValueTask DisposeAsync()
    {
        await Bus.Stop();
        await _provider.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
