using Kombo.Worker.KomboApi;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kombo.Worker.Tests.KomboApi;

/// <summary>
/// The real <see cref="KomboApiServiceCollectionExtensions.AddKomboApi"/> wiring, with a <see cref="TestClock"/>
/// as the TimeProvider and a <see cref="FakeKombo"/> swapped in as the primary handler. One per test,
/// so each test has its own circuit breaker.
/// </summary>
internal sealed class KomboClientHost : IDisposable
{
    public const string ApiKey = "test-api-key-6f1c";

    private readonly ServiceProvider _provider;

    private KomboClientHost(Dictionary<string, string?>? settings)
    {
        Kombo = FakeKombo.AnsweringLinks(Clock);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kombo:BaseUrl"] = "http://kombo.test/v1/",
                ["Kombo:ApiKey"] = ApiKey,
                ["Kombo:AttemptTimeout"] = "00:00:02",
                ["Kombo:TotalTimeout"] = "00:00:30",
                ["Kombo:MaxRetryAttempts"] = "4",
                ["Kombo:RetryBaseDelay"] = "00:00:00",
                ["Kombo:RetryMaxDelay"] = "00:00:00",
                ["Kombo:CircuitBreakerMinimumThroughput"] = "100",
            })
            .AddInMemoryCollection(settings ?? [])
            .Build();

        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace))
            .AddSingleton<TimeProvider>(Clock)
            .AddKomboApi(configuration);
        services.AddHttpClient<KomboClient>().ConfigurePrimaryHttpMessageHandler(() => Kombo);
        _provider = services.BuildServiceProvider();
    }

    public TestClock Clock { get; } = new();

    public FakeKombo Kombo { get; }

    public CapturingLoggerProvider Logs { get; } = new();

    public KomboClient Client => _provider.GetRequiredService<KomboClient>();

    public IServiceProvider Services => _provider;

    public static KomboClientHost Create(Dictionary<string, string?>? settings = null) => new(settings);

    public void Dispose() => _provider.Dispose();
}
