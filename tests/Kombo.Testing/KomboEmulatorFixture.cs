using System.Net.Http.Headers;
using Kombo.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Kombo.Testing;

/// <summary>
/// The Kombo emulator in-process on a free loopback port. Use it as a class fixture, or start a private one with
/// <see cref="StartAsync"/> when a test needs its own clock or settings.
/// </summary>
public sealed class KomboEmulatorFixture : IAsyncLifetime, IAsyncDisposable
{
    private readonly TimeProvider? _time;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private WebApplication? _app;
    private HttpClient? _admin;
    private EmulatorAdmin? _client;

    public KomboEmulatorFixture()
        : this(null, null)
    {
    }

    private KomboEmulatorFixture(TimeProvider? time, IReadOnlyDictionary<string, string?>? settings)
    {
        _time = time;
        _settings = settings ?? new Dictionary<string, string?>();
    }

    /// <summary>The emulator's root, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Root { get; private set; } = null!;

    /// <summary>What the worker uses as <c>Kombo:BaseUrl</c>: <c>http://127.0.0.1:PORT/v1/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public string ApiKey { get; private set; } = null!;

    /// <summary>A client for the <c>/emulator/…</c> admin API, based at <see cref="Root"/>.</summary>
    public HttpClient Admin => _admin ?? throw new InvalidOperationException("The emulator has not started.");

    /// <summary>The admin API in the emulator's types, the same client <see cref="EmulatorProcess"/> uses.</summary>
    public EmulatorAdmin Client => _client ?? throw new InvalidOperationException("The emulator has not started.");

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The emulator has not started.");

    /// <summary>Starts a private emulator; <paramref name="settings"/> are configuration keys such as <c>Emulator:SingleUseTokens</c>.</summary>
    public static async Task<KomboEmulatorFixture> StartAsync(
        TimeProvider? time = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var fixture = new KomboEmulatorFixture(time, settings);
        await fixture.InitializeAsync();
        return fixture;
    }

    public async Task InitializeAsync()
    {
        _app = EmulatorApp.Build(["--urls=http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Warning",
            });
            builder.Configuration.AddInMemoryCollection(_settings);
            // A hung call (hang_rate) must not hold up the end of a test run.
            builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(2));
            if (_time is not null)
            {
                builder.Services.AddSingleton(_time);
            }
        });
        await _app.StartAsync();

        Root = new Uri(_app.Urls.First().TrimEnd('/') + "/");
        BaseAddress = new Uri(Root, "v1/");
        ApiKey = _app.Services.GetRequiredService<IOptions<EmulatorOptions>>().Value.ApiKey;
        _admin = new HttpClient { BaseAddress = Root };
        _client = new EmulatorAdmin(_admin);
    }

    /// <summary>A raw client for the emulated Kombo API, based at <see cref="BaseAddress"/>, sending the given key.</summary>
    public HttpClient CreateKomboClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? ApiKey);
        return client;
    }

    /// <summary>
    /// Plays the end user finishing the Connect flow for an <c>EMBEDDED</c> <paramref name="link"/>; returns the connect
    /// token. Magic and reconnection links give none: use <see cref="Client"/> for those.
    /// </summary>
    public async Task<string> CompleteLinkAsync(string link, string? tool = null, string? setupStatus = null)
    {
        var completed = await Client.CompleteLinkAsync(link, tool, setupStatus);
        return completed.Token ?? throw new InvalidOperationException(
            $"Completing {link} gave integration {completed.IntegrationId} but no token (a magic or reconnection link).");
    }

    public async Task DisposeAsync()
    {
        _admin?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
}
