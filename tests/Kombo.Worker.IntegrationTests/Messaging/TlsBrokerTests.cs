using System.Globalization;
using System.Text.Json;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.ErrorQueues;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Kombo.Worker.IntegrationTests.Messaging;

/// <summary>
/// The built worker on a broker that speaks TLS with a certificate from a private CA: it connects with the
/// certificate checked against the CA it is given, and refuses at start, in one line, a broker it cannot trust.
/// </summary>
public sealed class TlsBrokerTests(TlsBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<TlsBroker>, IClassFixture<KomboEmulatorFixture>
{
    private static readonly TimeSpan RefusalTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Worker_given_the_brokers_CA_round_trips_a_command_over_TLS()
    {
        var node = broker.Node;
        var options = WorkerOptions(new()
        {
            ["RabbitMq__Uri"] = node.AmqpsUri().ToString(),
            ["RabbitMq__CaCertificatePath"] = node.TlsCaCertificatePath,
        });
        await using var worker = new WorkerProcess(options with { ReadyTimeout = TimeSpan.FromSeconds(40) });
        await worker.StartAsync();
        await using var probe = await AmqpClient.ConnectAsync(node, "/");
        await probe.ListenAsync(nameof(LinkCreated), nameof(ConnectLinkFailed));
        var correlationId = Guid.NewGuid().ToString();

        await probe.PublishJsonAsync("create-connect-link", $$"""
            {"correlationId":"{{correlationId}}","endUserEmail":"admin@acme.test","endUserOrganizationName":"Acme, Inc.",
             "endUserOriginId":"customer-tls","integrationTool":"personio"}
            """, messageId: Guid.NewGuid().ToString());

        await Eventually.HoldsAsync(() => probe.Of(nameof(LinkCreated)).Any(), $"LinkCreated over TLS; the worker wrote:{Environment.NewLine}{worker.Tail()}");
        Assert.Equal(correlationId, probe.Of(nameof(LinkCreated)).Single().CorrelationId);
    }

    [Fact]
    public async Task Broker_certificate_from_another_CA_is_refused_at_start_in_one_line()
    {
        using var other = TestCertificateAuthority.Create("Another CA");
        var directory = Directory.CreateTempSubdirectory("kombo-tls-ca-");
        try
        {
            var otherCa = other.WriteCertificate(Path.Combine(directory.FullName, "other-ca.pem"));

            var line = await RefusalAsync(new()
            {
                ["RabbitMq__Port"] = broker.Node.TlsPort!.Value.ToString(CultureInfo.InvariantCulture),
                ["RabbitMq__UseTls"] = "true",
                ["RabbitMq__CaCertificatePath"] = otherCa,
            });

            Assert.Contains("not signed by the CA in RabbitMq:CaCertificatePath", line, StringComparison.Ordinal);
            Assert.Contains(otherCa, line, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Broker_certificate_from_a_private_CA_is_refused_at_start_without_one()
    {
        var line = await RefusalAsync(new() { ["RabbitMq__Uri"] = broker.Node.AmqpsUri().ToString() });

        Assert.Contains("not signed by a CA this machine trusts", line, StringComparison.Ordinal);
        Assert.Contains("RabbitMq:CaCertificatePath", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_name_the_certificate_does_not_name_is_refused_at_start_in_one_line()
    {
        // The node's certificate names 127.0.0.1 only; localhost reaches the same listener under another name.
        var line = await RefusalAsync(new()
        {
            ["RabbitMq__Uri"] = broker.Node.AmqpsUri(host: "localhost").ToString(),
            ["RabbitMq__CaCertificatePath"] = broker.Node.TlsCaCertificatePath,
        });

        Assert.Contains("does not name the host 'localhost'", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_tool_connects_over_TLS_with_the_CA_of_the_workers_settings()
    {
        var (exit, error) = await ErrorsListAsync(broker.Node.TlsCaCertificatePath!);

        Assert.True(exit == 0, $"exit code {exit}: {error}");
    }

    [Fact]
    public async Task Errors_tool_says_why_it_does_not_trust_the_broker()
    {
        using var other = TestCertificateAuthority.Create("Another CA");
        var directory = Directory.CreateTempSubdirectory("kombo-tls-ca-");
        try
        {
            var (exit, error) = await ErrorsListAsync(other.WriteCertificate(Path.Combine(directory.FullName, "other-ca.pem")));

            Assert.Equal(1, exit);
            Assert.StartsWith("errors: not connecting to amqps://", error, StringComparison.Ordinal);
            Assert.Contains("not signed by the CA in RabbitMq:CaCertificatePath", error, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary><c>errors list</c> with the broker and CA in the settings file, as an operator runs it beside the worker.</summary>
    private async Task<(int Exit, string Error)> ErrorsListAsync(string caCertificatePath)
    {
        var settings = Directory.CreateTempSubdirectory("kombo-tls-settings-");
        try
        {
            File.WriteAllText(Path.Combine(settings.FullName, "appsettings.json"), JsonSerializer.Serialize(new
            {
                RabbitMq = new { Uri = broker.Node.AmqpsUri().ToString(), CaCertificatePath = caCertificatePath },
            }));
            var error = new StringWriter();
            var exit = await ErrorQueueTool.RunAsync(["list"], new StringWriter(), error, () => settings.FullName);
            return (exit, error.ToString());
        }
        finally
        {
            settings.Delete(recursive: true);
        }
    }

    private WorkerProcessOptions WorkerOptions(Dictionary<string, string?> settings) =>
        BuiltWorker.Options(broker.Node, "/", kombo, settings);

    /// <summary>Starts the worker, which must exit with 1 having written one line to stderr; returns that line.</summary>
    private async Task<string> RefusalAsync(Dictionary<string, string?> settings)
    {
        await using var worker = new WorkerProcess(WorkerOptions(settings));
        await worker.StartWithoutWaitingAsync();
        // A worker that keeps running (retrying) fails here; the refusal exits at once.
        Assert.Equal(1, await worker.Exited.WaitAsync(RefusalTimeout));

        // ManagedProcess marks the lines of stderr in the log file; the refusal must be the only one. The process may
        // exit before its last line is read from the pipe, so the log is read until the line is there.
        List<string> errors = [];
        await Eventually.HoldsAsync(() =>
        {
            errors = [.. File.ReadLines(worker.LogFile).Where(l => l.StartsWith("[err] ", StringComparison.Ordinal))];
            return errors.Count > 0;
        }, "the refusal reached the worker's log", TimeSpan.FromSeconds(10));
        var line = Assert.Single(errors)["[err] ".Length..];
        Assert.StartsWith("broker: ", line, StringComparison.Ordinal);
        output.WriteLine(line);
        return line;
    }
}
