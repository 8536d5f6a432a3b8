using System.Diagnostics;
using System.Globalization;

namespace Kombo.Testing;

/// <summary>Settings of a <see cref="WorkerProcess"/>.</summary>
public sealed record WorkerProcessOptions
{
    public string Configuration { get; init; } = "Release";

    /// <summary>The build's artifacts root; default <c>$KOMBO_ARTIFACTS_PATH</c> or the repository's <c>artifacts</c>.</summary>
    public string? ArtifactsPath { get; init; }

    /// <summary>Builds the worker into <see cref="ArtifactsPath"/> when its assembly is missing.</summary>
    public bool BuildIfMissing { get; init; } = true;

    /// <summary>
    /// The worker's current directory. Default: the repository root, so it reads the top-level appsettings.json
    /// (src/Kombo.Worker/Hosting/SettingsFile.cs) as a user's run does; <see cref="Environment"/> overrides it.
    /// </summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Holds the SQLite file (<c>worker.db</c>) and <c>worker.log</c>; default a fresh temp directory, deleted on dispose.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Configuration as environment variables (<c>Section__Key</c>); a null value removes the variable.</summary>
    public Dictionary<string, string?> Environment { get; init; } = [];

    /// <summary>
    /// Polled until it answers 200; unless it answers 503 (not ready), the start-up log line also counts as ready, so a
    /// worker without the endpoint (404) or with a failing one still starts.
    /// </summary>
    public string ReadinessPath { get; init; } = "/health/ready";

    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Sets <c>RabbitMq__*</c> for a node (and virtual host) of the run's own.</summary>
    public WorkerProcessOptions UseBroker(BrokerNode broker, string virtualHost = "/")
    {
        Environment["RabbitMq__Host"] = broker.Host;
        Environment["RabbitMq__Port"] = broker.Port.ToString(CultureInfo.InvariantCulture);
        Environment["RabbitMq__VirtualHost"] = virtualHost;
        Environment["RabbitMq__Username"] = broker.Username;
        Environment["RabbitMq__Password"] = broker.Password;
        return this;
    }

    /// <summary>Sets <c>Kombo__BaseUrl</c> and <c>Kombo__ApiKey</c> for an emulator.</summary>
    public WorkerProcessOptions UseEmulator(EmulatorProcess emulator) => UseKombo(emulator.KomboBaseUrl, EmulatorProcess.ApiKey);

    /// <summary>Sets <c>Kombo__BaseUrl</c> and <c>Kombo__ApiKey</c> for any Kombo API, such as an emulator hosted in-process.</summary>
    public WorkerProcessOptions UseKombo(string baseUrl, string apiKey)
    {
        Environment["Kombo__BaseUrl"] = baseUrl;
        Environment["Kombo__ApiKey"] = apiKey;
        return this;
    }
}

/// <summary>
/// The built worker (<c>dotnet artifacts/bin/Kombo.Worker/release/Kombo.Worker.dll</c>) as a separate OS process, with
/// its own SQLite file and HTTP port, configured by environment variables. It can be killed (SIGKILL), stopped
/// (SIGTERM) and started again on the same database, as often as a test likes.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    // Settings of the developer's shell that would point the worker at something else than the run's own parts.
    private static readonly string[] InheritedPrefixesToDrop =
        ["Kombo__", "RabbitMq__", "Storage__", "Outbox__", "Messaging__", "Webhooks__", "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_URLS", "Urls"];

    private const string StartedLine = "Application started";

    private readonly WorkerProcessOptions _options;
    private readonly bool _ownsDirectory;
    private ManagedProcess? _process;
    private Task<string>? _startedLine;
    private double _peakRssMb;

    public WorkerProcess(WorkerProcessOptions options)
    {
        _options = options;
        Port = FreePorts.Pick();
        Url = new Uri($"http://127.0.0.1:{Port}/");
        WebhookPort = FreePorts.Pick(Port);
        WebhookUrl = new Uri($"http://127.0.0.1:{WebhookPort}/kombo/webhooks");
        _ownsDirectory = options.DataDirectory is null;
        DataDirectory = options.DataDirectory ?? Directory.CreateTempSubdirectory("kombo-worker-").FullName;
        Directory.CreateDirectory(DataDirectory);
    }

    /// <summary>The worker's HTTP port (its <c>Urls</c> setting), on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>: health and metrics endpoints live here.</summary>
    public Uri Url { get; }

    /// <summary>A free port for the worker's webhook listener, for a test that turns it on (<c>Webhooks__Urls</c>).</summary>
    public int WebhookPort { get; }

    /// <summary>Where Kombo (the emulator) delivers webhooks to this worker.</summary>
    public Uri WebhookUrl { get; }

    public string DataDirectory { get; }

    /// <summary>The SQLite file, unless <c>Storage__DatabasePath</c> was overridden.</summary>
    public string DatabasePath => _options.Environment.TryGetValue("Storage__DatabasePath", out var path) && path is not null
        ? path
        : Path.Combine(DataDirectory, "worker.db");

    /// <summary>Output of every start of this worker, appended.</summary>
    public string LogFile => Path.Combine(DataDirectory, "worker.log");

    public int? Pid => _process?.Pid;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Completes with the exit code when the current process exits.</summary>
    public Task<int> Exited => _process?.Exited ?? throw new InvalidOperationException("The worker was not started.");

    /// <summary>Peak resident memory (VmHWM) in MB, the highest over every start of this worker.</summary>
    public double PeakRssMb => Math.Max(_peakRssMb, _process?.PeakRssMb ?? 0);

    /// <summary>CPU time the current process used so far (user + system), from /proc.</summary>
    public TimeSpan? CpuTime => _process?.CpuTime;

    /// <summary>Starts a worker and waits until it is ready.</summary>
    public static async Task<WorkerProcess> StartAsync(WorkerProcessOptions options, CancellationToken cancellationToken = default)
    {
        var worker = new WorkerProcess(options);
        try
        {
            await worker.StartAsync(cancellationToken);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the process (again, after a stop or kill: same database and port) and waits until it is ready.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await StartWithoutWaitingAsync(cancellationToken);
        await WaitUntilReadyAsync(_options.ReadyTimeout, cancellationToken);
    }

    /// <summary>Starts the process and returns at once (to watch a start-up that is expected to fail, for example).</summary>
    public async Task StartWithoutWaitingAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("The worker is already running.");
        }

        await ReleaseProcessAsync();
        var assembly = _options.BuildIfMissing
            ? await DotnetBuild.EnsureBuiltAsync("Kombo.Worker", _options.Configuration, _options.ArtifactsPath, cancellationToken: cancellationToken)
            : RepositoryPaths.BuiltAssembly("Kombo.Worker", _options.Configuration, _options.ArtifactsPath);
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException($"The worker is not built: {assembly} is missing. Build it with " +
                $"`dotnet build src/Kombo.Worker -c {_options.Configuration} --artifacts-path <path>` or set BuildIfMissing.", assembly);
        }

        var startInfo = new ProcessStartInfo("dotnet") { WorkingDirectory = _options.WorkingDirectory ?? RepositoryPaths.Root };
        startInfo.ArgumentList.Add(assembly);
        foreach (var name in startInfo.Environment.Keys.Where(k => InheritedPrefixesToDrop.Any(p => k.StartsWith(p, StringComparison.OrdinalIgnoreCase))).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        startInfo.Environment["Urls"] = Url.ToString().TrimEnd('/');
        startInfo.Environment["Storage__DatabasePath"] = Path.Combine(DataDirectory, "worker.db");
        foreach (var (name, value) in _options.Environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        _process = ManagedProcess.Start("worker", startInfo, LogFile);
        _startedLine = _process.WaitForOutputAsync(line => line.Contains(StartedLine, StringComparison.Ordinal), TimeSpan.FromMinutes(10), CancellationToken.None);
        _ = _startedLine.ContinueWith(t => t.Exception, TaskScheduler.Default);
    }

    /// <summary>
    /// Waits until <see cref="WorkerProcessOptions.ReadinessPath"/> answers 200, or, where the worker has no such
    /// endpoint (404), until it logged that the host started (which is after the bus started). Throws with the
    /// log tail if the process exits or the time runs out.
    /// </summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var process = _process ?? throw new InvalidOperationException("The worker was not started.");
        var deadline = Stopwatch.StartNew();
        using var probe = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(2) };
        var lastAnswer = "no answer";
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The worker exited (code {process.Exited.Result}) during start-up.{process.Describe()}");
            }

            var notReady = false;
            try
            {
                using var response = await probe.GetAsync(_options.ReadinessPath.TrimStart('/'), cancellationToken);
                lastAnswer = $"{(int)response.StatusCode} from {_options.ReadinessPath}";
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                notReady = response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                lastAnswer = ex.GetBaseException().Message;
            }

            // 503 is a deliberate "not ready yet". No such endpoint (404), or one that fails (500, a broken
            // response), leaves it to the log line, written once the bus has started.
            if (!notReady && _startedLine is { IsCompletedSuccessfully: true })
            {
                return;
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"The worker was not ready within {timeout.TotalSeconds:0} s (last answer: {lastAnswer}).{process.Describe()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>SIGKILL: a crash in the middle of whatever it was doing.</summary>
    public async Task KillAsync()
    {
        if (_process is not null)
        {
            _peakRssMb = Math.Max(_peakRssMb, _process.PeakRssMb);
            await _process.KillAsync();
        }
    }

    /// <summary>SIGTERM and wait (default 30 s; then it is killed and this throws). Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (_process is null)
        {
            return 0;
        }

        _peakRssMb = Math.Max(_peakRssMb, _process.PeakRssMb);
        return await _process.StopAsync(timeout);
    }

    /// <summary>Waits for an output line of the current process (see <see cref="ManagedProcess.WaitForOutputAsync"/>).</summary>
    public Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        (_process ?? throw new InvalidOperationException("The worker was not started.")).WaitForOutputAsync(match, timeout, cancellationToken);

    /// <summary>The last lines the current process wrote.</summary>
    public string Tail(int lines = 60) => _process?.Tail(lines) ?? "";

    public async ValueTask DisposeAsync()
    {
        await ReleaseProcessAsync();
        if (_ownsDirectory)
        {
            EmulatorProcess.TryDelete(DataDirectory);
        }
    }

    private async Task ReleaseProcessAsync()
    {
        if (_process is not null)
        {
            _peakRssMb = Math.Max(_peakRssMb, _process.PeakRssMb);
            await _process.DisposeAsync();
            _process = null;
        }
    }
}
