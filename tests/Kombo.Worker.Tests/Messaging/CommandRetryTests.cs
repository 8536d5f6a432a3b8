using System.Collections.Concurrent;
using Kombo.Testing;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Messaging;

/// <summary>
/// The two retry layers of a command endpoint: storage failures (outer, unbounded) around Kombo redeliveries (inner,
/// bounded, the last one answers). A probe consumer on the real endpoint definition throws what each test scripts.
/// </summary>
public sealed class CommandRetryTests
{
    [Fact]
    public async Task Last_kombo_attempt_answers_instead_of_throwing()
    {
        await using var probe = await ProbeEndpoint.StartAsync(Failure.Kombo, Failure.Kombo, Failure.Kombo);

        await probe.SendAsync();

        await probe.WaitForAttemptsAsync(3);
        Assert.Equal([false, false, true], probe.Attempts.Select(a => a.IsLastAttempt));
        Assert.True(await probe.Harness.Consumed.Any<ProbeCommand>(c => c.Exception is null));
    }

    [Fact]
    public async Task Storage_failures_between_kombo_failures_neither_shorten_nor_lengthen_the_kombo_budget()
    {
        // Each storage failure restarts the Kombo retry (and with it MassTransit's own retry attempt count).
        await using var probe = await ProbeEndpoint.StartAsync(
            Failure.Kombo, Failure.Storage, Failure.Storage, Failure.Kombo, Failure.Storage, Failure.Kombo);

        await probe.SendAsync();

        await probe.WaitForAttemptsAsync(6);
        Assert.Equal(
            [(Failure.Kombo, false), (Failure.Storage, false), (Failure.Storage, false), (Failure.Kombo, false), (Failure.Storage, false), (Failure.Kombo, true)],
            probe.Attempts.Select(a => (a.Failure, a.IsLastAttempt)));
        Assert.True(await probe.Harness.Consumed.Any<ProbeCommand>(c => c.Exception is null));
        Assert.False(await probe.Harness.Published.Any<Fault<ProbeCommand>>());
    }

    [Fact]
    public async Task Storage_failures_are_retried_past_any_kombo_budget_and_never_fault_the_command()
    {
        var failures = Enumerable.Repeat(Failure.Storage, 12).Append(Failure.None).ToArray();
        await using var probe = await ProbeEndpoint.StartAsync(failures);

        await probe.SendAsync();

        await probe.WaitForAttemptsAsync(failures.Length);
        Assert.True(await probe.Harness.Consumed.Any<ProbeCommand>(c => c.Exception is null));
        Assert.False(await probe.Harness.Published.Any<Fault<ProbeCommand>>());
    }

    [Fact]
    public async Task A_storage_error_that_waiting_cannot_fix_faults_the_command()
    {
        await using var probe = await ProbeEndpoint.StartAsync(Failure.Constraint, Failure.None);

        await probe.SendAsync();

        Assert.True(await probe.Harness.Consumed.Any<ProbeCommand>(c => c.Exception is not null));
        await probe.Harness.InactivityTask;
        Assert.False(await probe.Harness.Published.Any<Fault<ProbeCommand>>()); // to _error, with no Fault event
        Assert.Single(probe.Attempts);
    }

    public enum Failure
    {
        None,
        Kombo,
        Storage,
        Constraint,
    }

    public sealed record ProbeCommand(Guid CorrelationId);

    public sealed record Attempt(Failure Failure, bool IsLastAttempt);

    internal sealed class ProbeConsumer(Script script, IOptions<MessagingOptions> options) : IConsumer<ProbeCommand>
    {
        /// <summary>Behaves like the command consumers: a Kombo failure is thrown unless it was the last one allowed.</summary>
        public Task Consume(ConsumeContext<ProbeCommand> context)
        {
            var failure = script.Next();
            var isLast = failure == Failure.Kombo && KomboRedeliveries.IsLastAttempt(context, options.Value);
            script.Attempts.Enqueue(new Attempt(failure, isLast));
            return failure switch
            {
                Failure.Kombo when isLast => Task.CompletedTask,
                Failure.Kombo => throw new KomboUnavailableException("Kombo is down (scripted)."),
                Failure.Storage => throw new SqliteException("database or disk is full (scripted)", 13),
                Failure.Constraint => throw new SqliteException("UNIQUE constraint failed (scripted)", 19),
                _ => Task.CompletedTask,
            };
        }
    }

    internal sealed class ProbeConsumerDefinition(IOptions<MessagingOptions> options)
        : CommandConsumerDefinition<ProbeConsumer, ProbeCommand>(options, "probe-command");

    public sealed class Script(IEnumerable<Failure> failures)
    {
        private readonly ConcurrentQueue<Failure> _failures = new(failures);

        public ConcurrentQueue<Attempt> Attempts { get; } = new();

        public Failure Next() => _failures.TryDequeue(out var failure) ? failure : Failure.None;
    }

    private sealed class ProbeEndpoint : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly Script _script;

        private ProbeEndpoint(ServiceProvider provider, Script script)
        {
            _provider = provider;
            _script = script;
            Harness = provider.GetRequiredService<ITestHarness>();
        }

        public ITestHarness Harness { get; }

        public IReadOnlyCollection<Attempt> Attempts => _script.Attempts;

        public static async Task<ProbeEndpoint> StartAsync(params Failure[] failures)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Messaging:KomboRedeliveryIntervals:0"] = "00:00:00.010",
                ["Messaging:KomboRedeliveryIntervals:1"] = "00:00:00.010",
                ["Messaging:StorageRetryMinDelay"] = "00:00:00.010",
                ["Messaging:StorageRetryMaxDelay"] = "00:00:00.040",
            }).Build();
            var script = new Script(failures);
            var services = new ServiceCollection()
                .AddSingleton(script)
                .AddMessagingOptions(configuration);
            services.AddMassTransitTestHarness(bus =>
            {
                bus.AddConsumer<ProbeConsumer, ProbeConsumerDefinition>();
                bus.SetTestTimeouts(testTimeout: TimeSpan.FromSeconds(30), testInactivityTimeout: TimeSpan.FromSeconds(2));
            });

            var endpoint = new ProbeEndpoint(services.BuildServiceProvider(), script);
            await endpoint.Harness.Start();
            return endpoint;
        }

        public async Task SendAsync()
        {
            var endpoint = await Harness.Bus.GetSendEndpoint(new Uri("queue:probe-command"));
            await endpoint.Send(new ProbeCommand(NewId.NextGuid()));
        }

        public Task WaitForAttemptsAsync(int count) => Eventually.HoldsAsync(
            () => _script.Attempts.Count >= count, $"{count} attempts happened", TimeSpan.FromSeconds(20));

        public async ValueTask DisposeAsync()
        {
            await Harness.Stop();
            await _provider.DisposeAsync();
        }
    }
}
