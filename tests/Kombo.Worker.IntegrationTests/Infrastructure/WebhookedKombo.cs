using Kombo.Testing;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// An in-process emulator that signs its webhooks and delivers them to a worker's webhook listener, and the worker
/// settings that turn that listener on: the one place the tests wire Kombo's webhooks to a worker.
/// </summary>
public static class WebhookedKombo
{
    public const string Secret = "test-webhook-secret";

    // Quick retries, so a delivery refused while a worker restarts comes again within a second.
    private static readonly Dictionary<string, string?> Retries = new()
    {
        ["Emulator:WebhookRetry:InitialDelay"] = "00:00:00.050",
        ["Emulator:WebhookRetry:MaxDelay"] = "00:00:01",
    };

    /// <summary>
    /// The worker process to be (not started) with its webhook listener on, and an emulator that delivers to it; the
    /// worker's options are pointed at that emulator.
    /// </summary>
    /// <param name="emulatorSettings">More emulator settings (faults, retry bounds), over the defaults.</param>
    public static async Task<(WorkerProcess Worker, KomboEmulatorFixture Kombo)> ForWorkerProcessAsync(
        WorkerProcessOptions options, IReadOnlyDictionary<string, string?>? emulatorSettings = null)
    {
        var worker = new WorkerProcess(options);
        var kombo = await StartAsync(worker.WebhookUrl.ToString(), emulatorSettings);
        options.UseKombo(kombo.BaseAddress.ToString(), kombo.ApiKey);
        options.Environment["Kombo__WebhookSecret"] = Secret;
        options.Environment["Webhooks__Urls"] = $"http://127.0.0.1:{worker.WebhookPort}";
        return (worker, kombo);
    }

    /// <summary>
    /// For a worker hosted in-process (<c>WorkerUnderTest</c>, whose own listener takes any free port): an emulator
    /// delivering to a webhook port picked here, and the settings that turn the worker's listener on there.
    /// </summary>
    public static async Task<(KomboEmulatorFixture Kombo, Dictionary<string, string?> WorkerSettings, int WebhookPort)> ForInProcessWorkerAsync(
        IReadOnlyDictionary<string, string?>? emulatorSettings = null)
    {
        var port = FreePorts.Pick();
        var kombo = await StartAsync($"http://127.0.0.1:{port}/kombo/webhooks", emulatorSettings);
        return (kombo, new Dictionary<string, string?>
        {
            ["Kombo:WebhookSecret"] = Secret,
            ["Webhooks:Urls"] = $"http://127.0.0.1:{port}",
        }, port);
    }

    private static Task<KomboEmulatorFixture> StartAsync(string webhookUrl, IReadOnlyDictionary<string, string?>? emulatorSettings)
    {
        var settings = new Dictionary<string, string?>(Retries)
        {
            ["Emulator:WebhookUrl"] = webhookUrl,
            ["Emulator:WebhookSecret"] = Secret,
        };
        foreach (var (key, value) in emulatorSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return KomboEmulatorFixture.StartAsync(settings: settings);
    }
}
