using System.Runtime.CompilerServices;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>Outbox:BypassForBenchmark exists for the benchmark only: it must never be on unless asked for.</summary>
public sealed class OutboxBypassTests
{
    [Fact]
    public void Bypass_is_off_by_default()
    {
        Assert.False(new OutboxOptions().BypassForBenchmark);
    }

    [Fact]
    public void The_committed_appsettings_do_not_turn_the_bypass_on()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(RepositoryAppSettings(), optional: false).Build();

        var options = configuration.GetSection(OutboxOptions.SectionName).Get<OutboxOptions>() ?? new OutboxOptions();

        Assert.False(options.BypassForBenchmark);
    }

    [Fact]
    public async Task By_default_the_event_goes_through_the_outbox_table()
    {
        await using var harness = await Harness.StartAsync();
        var command = Command();

        await harness.Bus.Bus.Publish(command);

        Assert.True(await harness.Bus.Published.Any<LinkCreated>(m => m.Context.Message.CorrelationId == command.CorrelationId));
        Assert.Equal(1, harness.Count(
            "SELECT COUNT(*) FROM outbox WHERE message_type = 'LinkCreated' AND correlation_id = @Id", new { Id = command.CorrelationId.ToString() }));
    }

    [Fact]
    public async Task With_the_bypass_on_the_event_is_published_without_an_outbox_row()
    {
        await using var harness = await Harness.StartAsync(new() { ["Outbox:BypassForBenchmark"] = "true" });
        var command = Command();

        await harness.Bus.Bus.Publish(command);

        var published = await harness.Bus.Published.SelectAsync<LinkCreated>(m => m.Context.Message.CorrelationId == command.CorrelationId).FirstOrDefault();
        Assert.NotNull(published);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox"));
    }

    private static CreateConnectLink Command() => new()
    {
        CorrelationId = NewId.NextGuid(),
        EndUserEmail = "admin@acme.test",
        EndUserOrganizationName = "Acme, Inc.",
        EndUserOriginId = "customer-1",
        IntegrationTool = "personio",
    };

    private static string RepositoryAppSettings([CallerFilePath] string thisFile = "")
    {
        for (var directory = new DirectoryInfo(Path.GetDirectoryName(thisFile)!); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Kombo.Worker.sln")))
            {
                return Path.Combine(directory.FullName, "appsettings.json");
            }
        }

        throw new FileNotFoundException($"No Kombo.Worker.sln above {thisFile}.");
    }
}
