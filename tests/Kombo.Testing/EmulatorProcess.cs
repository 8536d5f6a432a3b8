using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

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
/// The Kombo emulator (src/Kombo.Emulator) as its own process on a free port of 127.0.0.1, with helpers for its admin
/// API (see src/Kombo.Emulator/README.md). Point the worker at <see cref="KomboBaseUrl"/> with <see cref="ApiKey"/>.
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
        Client = new EmulatorAdminClient(Admin);
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

    /// <summary>The end-user and webhook calls of the admin API; the same ones are members here.</summary>
    public EmulatorAdminClient Client { get; }

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

    /// <summary>Replaces the fault settings: <c>PUT /emulator/faults</c>. Keys left out take their defaults.</summary>
    public async Task SetFaultsAsync(EmulatorFaults faults, CancellationToken cancellationToken = default)
    {
        using var response = await Admin.PutAsJsonAsync("emulator/faults", faults, Json, cancellationToken);
        await EnsureSuccessAsync(response, "PUT /emulator/faults", cancellationToken);
    }

    /// <summary>Shorthand for <see cref="SetFaultsAsync"/> with only a latency.</summary>
    public Task SetLatencyAsync(int latencyMs, CancellationToken cancellationToken = default) =>
        SetFaultsAsync(new EmulatorFaults { LatencyMs = latencyMs }, cancellationToken);

    /// <summary><c>DELETE /emulator/faults</c>.</summary>
    public async Task ClearFaultsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Admin.DeleteAsync("emulator/faults", cancellationToken);
        await EnsureSuccessAsync(response, "DELETE /emulator/faults", cancellationToken);
    }

    /// <summary><c>GET /emulator/stats</c>.</summary>
    public async Task<EmulatorStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Admin.GetAsync("emulator/stats", cancellationToken);
        await EnsureSuccessAsync(response, "GET /emulator/stats", cancellationToken);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken)
            ?? throw new InvalidOperationException("GET /emulator/stats answered an empty body.");
        return new EmulatorStats(json);
    }

    /// <summary><c>DELETE /emulator/stats</c>: counters back to zero.</summary>
    public async Task ResetStatsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Admin.DeleteAsync("emulator/stats", cancellationToken);
        await EnsureSuccessAsync(response, "DELETE /emulator/stats", cancellationToken);
    }

    /// <summary>
    /// Issues <paramref name="count"/> redeemable tokens (<c>POST /emulator/tokens</c>, in calls of at most 100,000).
    /// Without an origin id every token gets its own (<c>origin-N</c>).
    /// </summary>
    public async Task<IReadOnlyList<IssuedToken>> IssueTokensAsync(
        int count, string? tool = null, string? endUserOriginId = null, string? setupStatus = null, CancellationToken cancellationToken = default)
    {
        var tokens = new List<IssuedToken>(count);
        while (tokens.Count < count)
        {
            var chunk = Math.Min(100_000, count - tokens.Count);
            using var response = await Admin.PostAsJsonAsync("emulator/tokens", new
            {
                count = chunk,
                tool,
                end_user_origin_id = endUserOriginId,
                setup_status = setupStatus,
            }, Json, cancellationToken);
            await EnsureSuccessAsync(response, "POST /emulator/tokens", cancellationToken);
            var issued = await response.Content.ReadFromJsonAsync<IssuedTokens>(Json, cancellationToken)
                ?? throw new InvalidOperationException("POST /emulator/tokens answered an empty body.");
            tokens.AddRange(issued.Tokens);
        }

        return tokens;
    }

    /// <inheritdoc cref="EmulatorAdminClient.CompleteLinkAsync"/>
    public Task<CompletedLink> CompleteLinkAsync(
        string link, string? tool = null, string? setupStatus = null, CancellationToken ct = default) =>
        Client.CompleteLinkAsync(link, tool, setupStatus, ct);

    /// <inheritdoc cref="EmulatorAdminClient.FailLinkAsync"/>
    public Task FailLinkAsync(string link, CancellationToken ct = default) => Client.FailLinkAsync(link, ct);

    /// <inheritdoc cref="EmulatorAdminClient.DeleteIntegrationAsync"/>
    public Task DeleteIntegrationAsync(string integrationId, CancellationToken ct = default) =>
        Client.DeleteIntegrationAsync(integrationId, ct);

    /// <inheritdoc cref="EmulatorAdminClient.SetIntegrationStateAsync"/>
    public Task SetIntegrationStateAsync(
        string integrationId, string state, string? setupStatus = null, string? qaStatus = null, CancellationToken ct = default) =>
        Client.SetIntegrationStateAsync(integrationId, state, setupStatus, qaStatus, ct);

    /// <inheritdoc cref="EmulatorAdminClient.SetWebhookFaultsAsync"/>
    public Task SetWebhookFaultsAsync(WebhookFaults faults, CancellationToken ct = default) => Client.SetWebhookFaultsAsync(faults, ct);

    /// <inheritdoc cref="EmulatorAdminClient.ClearWebhookFaultsAsync"/>
    public Task ClearWebhookFaultsAsync(CancellationToken ct = default) => Client.ClearWebhookFaultsAsync(ct);

    /// <inheritdoc cref="EmulatorAdminClient.GetWebhookStatsAsync"/>
    public Task<WebhookStats> GetWebhookStatsAsync(CancellationToken ct = default) => Client.GetWebhookStatsAsync(ct);

    /// <inheritdoc cref="EmulatorAdminClient.WaitForWebhooksDeliveredAsync"/>
    public Task WaitForWebhooksDeliveredAsync(TimeSpan timeout, CancellationToken ct = default) =>
        Client.WaitForWebhooksDeliveredAsync(timeout, ct);

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

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string call, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"{call} answered {(int)response.StatusCode}: {body}");
        }
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record IssuedTokens(IReadOnlyList<IssuedToken> Tokens);
}

/// <summary>The emulator's fault settings (<c>PUT /emulator/faults</c>); left null, a key takes its default.</summary>
public sealed record EmulatorFaults
{
    public int? LatencyMs { get; init; }

    public double? ErrorRate { get; init; }

    [JsonPropertyName("plain_text_503_share")]
    public double? PlainText503Share { get; init; }

    public double? RateLimitRate { get; init; }

    public double? RetryAfterShare { get; init; }

    public int? RetryAfterSeconds { get; init; }

    public double? HangRate { get; init; }

    public int? HangMs { get; init; }

    public int? Seed { get; init; }
}

/// <summary>The answer of <c>POST /emulator/links/complete</c>.</summary>
public sealed record CompletedLink(string? Token, string IntegrationId);

/// <summary>The emulator's webhook faults (<c>PUT /emulator/webhooks/faults</c>); left null, a key takes its default.</summary>
public sealed record WebhookFaults
{
    /// <summary>Share of acknowledged webhooks delivered once more, same id and body.</summary>
    public double? DuplicateRate { get; init; }

    /// <summary>Wait before every delivery attempt.</summary>
    public int? DelayMs { get; init; }

    /// <summary>Share of webhooks held back and delivered after the next one of the same integration.</summary>
    public double? ReorderRate { get; init; }

    /// <summary>How long a held-back webhook waits for a next one (default 2000 ms).</summary>
    public int? ReorderHoldMs { get; init; }

    public int? Seed { get; init; }
}

/// <summary>Webhook counters of the emulator; <see cref="Pending"/> counts unacknowledged deliveries, duplicates included.</summary>
public sealed record WebhookStats(long Queued, long Delivered, long Pending, long Attempts, long FailedAttempts, long DuplicatesSent);

/// <summary>A token from <c>POST /emulator/tokens</c>.</summary>
public sealed record IssuedToken(string Token, string IntegrationId, string? EndUserOriginId);

/// <summary>The emulator's counters (<c>GET /emulator/stats</c>); <see cref="Json"/> holds every field.</summary>
public sealed record EmulatorStats(JsonObject Json)
{
    public long TotalCalls => Long("total_calls");

    public long CreateLinkCalls => Long("endpoints", "create_link");

    public long IntegrationByTokenCalls => Long("endpoints", "integration_by_token");

    public long LinksCreated => Long("links_created");

    public long TokensRedeemed => Long("tokens_redeemed");

    /// <summary>Answers with this status code, e.g. <c>StatusCount(200)</c>.</summary>
    public long StatusCount(int status) => Long("status_codes", status.ToString(CultureInfo.InvariantCulture));

    private long Long(params string[] path)
    {
        JsonNode? node = Json;
        foreach (var key in path)
        {
            node = node?[key];
        }

        return node?.GetValue<long>() ?? 0;
    }
}
