using System.Diagnostics;

namespace Kombo.Testing;

/// <summary>Settings of an <see cref="EmulatorProcess"/>.</summary>
public sealed record EmulatorProcessOptions
{
    public string Configuration { get; init; } = "Release";

    /// <summary>The build's artifacts root; default <c>$KOMBO_ARTIFACTS_PATH</c> or the repository's <c>artifacts</c>.</summary>
    public string? ArtifactsPath { get; init; }

    /// <summary>Builds the emulator into <see cref="ArtifactsPath"/> when its assembly is missing.</summary>
    public bool BuildIfMissing { get; init; } = true;

    /// <summary>Configuration overrides as environment variables, e.g. <c>Emulator__RateLimit</c>.</summary>
    public Dictionary<string, string?> Environment { get; init; } = [];

    /// <summary>Holds the log file; default a fresh temp directory, deleted on dispose.</summary>
    public string? Directory { get; init; }

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where the emulator POSTs webhooks (<c>Emulator__WebhookUrl</c>); null, it sends none.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>Signs the webhooks (<c>Emulator__WebhookSecret</c>); required with <see cref="WebhookUrl"/>.</summary>
    public string? WebhookSecret { get; init; }
}

/// <summary>
/// The Kombo emulator (src/Kombo.Emulator) as its own process on a free port of 127.0.0.1, its admin API in
/// <see cref="Client"/>. Point the worker at <see cref="KomboBaseUrl"/> with <see cref="ApiKey"/>.
/// </summary>
public sealed class EmulatorProcess : IAsyncDisposable
{
    public const string ApiKey = "emulator-key";

    private readonly EmulatorProcessOptions _options;
    private readonly bool _ownsDirectory;
    private ManagedProcess? _process;

    public EmulatorProcess(EmulatorProcessOptions? options = null)
    {
        _options = options ?? new EmulatorProcessOptions();
        Port = FreePorts.Pick();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        _ownsDirectory = _options.Directory is null;
        Directory = _options.Directory ?? System.IO.Directory.CreateTempSubdirectory("kombo-emulator-").FullName;
        Admin = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Client = new EmulatorAdmin(Admin);
    }

    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>What the worker's <c>Kombo:BaseUrl</c> must be: <c>http://127.0.0.1:PORT/v1/</c>.</summary>
    public string KomboBaseUrl => new Uri(BaseAddress, "v1/").ToString();

    public string Directory { get; }

    public string LogFile => Path.Combine(Directory, "emulator.log");

    /// <summary>A client for the admin API (no authentication), based at <see cref="BaseAddress"/>.</summary>
    public HttpClient Admin { get; }

    /// <summary>The admin API in the emulator's types (faults, stats, tokens, the end user, webhooks).</summary>
    public EmulatorAdmin Client { get; }

    public int? Pid => _process?.Pid;

    public bool IsRunning => _process is { HasExited: false };

    public double PeakRssMb => _process?.PeakRssMb ?? 0;

    /// <summary>Starts an emulator and waits until its admin API answers.</summary>
    public static async Task<EmulatorProcess> StartAsync(EmulatorProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        var emulator = new EmulatorProcess(options);
        try
        {
            await emulator.StartAsync(cancellationToken);
            return emulator;
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process (again, after a stop or kill: same port) and waits until it answers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The emulator is already running.");
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        var assembly = _options.BuildIfMissing
            ? await DotnetBuild.EnsureBuiltAsync("Kombo.Emulator", _options.Configuration, _options.ArtifactsPath, cancellationToken: cancellationToken)
            : RepositoryPaths.BuiltAssembly("Kombo.Emulator", _options.Configuration, _options.ArtifactsPath);
        var startInfo = new ProcessStartInfo("dotnet") { WorkingDirectory = Directory };
        startInfo.ArgumentList.Add(assembly);
        startInfo.ArgumentList.Add("--urls");
        startInfo.ArgumentList.Add($"http://127.0.0.1:{Port}");
        startInfo.Environment.Remove("ASPNETCORE_URLS");
        startInfo.Environment.Remove("DOTNET_URLS");
        startInfo.Environment.Remove("Emulator__WebhookUrl");
        startInfo.Environment.Remove("Emulator__WebhookSecret");
        if (_options.WebhookUrl is not null)
        {
            startInfo.Environment["Emulator__WebhookUrl"] = _options.WebhookUrl;
        }

        if (_options.WebhookSecret is not null)
        {
            startInfo.Environment["Emulator__WebhookSecret"] = _options.WebhookSecret;
        }

        foreach (var (name, value) in _options.Environment)
        {
            startInfo.Environment[name] = value;
        }

        _process = ManagedProcess.Start("emulator", startInfo, LogFile);
        await WaitUntilReadyAsync(_options.ReadyTimeout, cancellationToken);
    }

    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var process = _process ?? throw new InvalidOperationException("The emulator was not started.");
        var deadline = Stopwatch.StartNew();
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The emulator exited (code {process.Exited.Result}) during start-up.{process.Describe()}");
            }

            try
            {
                using var response = await probe.GetAsync("emulator/stats", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The emulator did not answer GET {BaseAddress}emulator/stats within {timeout.TotalSeconds:0} s.{process.Describe()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>SIGKILL (Kombo vanishes mid-call).</summary>
    public Task KillAsync() => _process?.KillAsync() ?? Task.CompletedTask;

    /// <summary>SIGTERM, then waits (default 30 s).</summary>
    public Task<int> StopAsync(TimeSpan? timeout = null) => _process?.StopAsync(timeout) ?? Task.FromResult(0);

    public string Tail(int lines = 60) => _process?.Tail(lines) ?? "";

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        if (_ownsDirectory)
        {
            TryDelete(Directory);
        }
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: it is under the temp folder.
        }
    }
}
