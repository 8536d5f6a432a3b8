using Kombo.Testing;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The built worker as a process of its own (Kombo.Testing's <see cref="WorkerProcess"/>), on a virtual host of the
/// test broker and calling the in-process emulator: the binary this test run built, from the repository root.
/// </summary>
public static class BuiltWorker
{
    /// <param name="kombo">The Kombo to call; null when <see cref="WebhookedKombo"/> points the options at its own emulator.</param>
    public static WorkerProcessOptions Options(
        RabbitMqBroker broker, string virtualHost, KomboEmulatorFixture? kombo, Dictionary<string, string?>? settings = null) =>
        Options(broker.Node, virtualHost, kombo, settings);

    /// <summary>The worker on any node of the test's own, such as one with a TLS listener.</summary>
    public static WorkerProcessOptions Options(
        BrokerNode node, string virtualHost, KomboEmulatorFixture? kombo, Dictionary<string, string?>? settings = null)
    {
        var options = new WorkerProcessOptions
        {
            // The worker was built beside this test assembly (it is a project reference), with the same configuration.
            ArtifactsPath = BuildPaths.ArtifactsRoot,
            Configuration = BuildPaths.Configuration,
            BuildIfMissing = false,
            WorkingDirectory = BuildPaths.RepositoryRoot,
            Environment =
            {
                ["Outbox__RetryBaseDelay"] = "00:00:00.050",
                ["Outbox__RetryMaxDelay"] = "00:00:00.500",
            },
        }.UseBroker(node, virtualHost);
        if (kombo is not null)
        {
            options.UseKombo(kombo.BaseAddress.ToString(), kombo.ApiKey);
        }

        foreach (var (name, value) in settings ?? [])
        {
            options.Environment[name] = value;
        }

        return options;
    }
}
