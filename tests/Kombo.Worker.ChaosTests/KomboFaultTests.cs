using System.Diagnostics;
using Kombo.Contracts;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 6: Kombo misbehaves: 30 % 5xx, 10 % 429 (half with Retry-After), some hung calls, latency. Every command
/// still ends in a success or in <c>kombo_unavailable</c> (retryable) once its whole retry budget is spent, and the calls
/// the worker made stay within that budget. Then Kombo goes down completely: the circuit breaker opens (no calls reach
/// Kombo while it is open) and closes again once Kombo is back.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class KomboFaultTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private const int MaxRetryAttempts = 4;
    private const int Redeliveries = 2;
    private static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(2);

    private static readonly string?[] TransientCodes = [null, "PLATFORM.UNKNOWN_ERROR", "PLATFORM.RATE_LIMIT_EXCEEDED"];

    private readonly string _virtualHost = $"chaos-kombo-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public async Task DisposeAsync() => await kombo.Client.ResetAsync();

    [Fact]
    public async Task Flaky_kombo_ends_every_command_within_its_retry_budget_and_the_circuit_opens_and_closes()
    {
        var started = Stopwatch.StartNew();
        var scale = ChaosScale.Current;
        var logs = new LogCapture();
        var (own, webhookSettings, _) = await WebhookedKombo.ForInProcessWorkerAsync();
        await using var ownKombo = own;
        var workload = await ChaosWorkload.CreateAsync(own, scale.KomboFaultCommands, "flaky");
        var outage = await ChaosWorkload.CreateAsync(own, 60, "outage");
        var afterwards = await ChaosWorkload.CreateAsync(own, 20, "recovered");

        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
        await using var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos");
        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, own, new(webhookSettings)
        {
            ["Kombo:MaxRetryAttempts"] = MaxRetryAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Kombo:AttemptTimeout"] = "00:00:01",
            ["Kombo:TotalTimeout"] = "00:00:08",
            // Opens on an outage, not on a flaky Kombo: at 40 % failures a window of 20 calls almost never reaches 75 %.
            ["Kombo:CircuitBreakerFailureRatio"] = "0.75",
            ["Kombo:CircuitBreakerMinimumThroughput"] = "20",
            ["Kombo:CircuitBreakerSamplingDuration"] = "00:00:05",
            ["Kombo:CircuitBreakerBreakDuration"] = "00:00:02",
            ["Messaging:KomboRedeliveryIntervals:0"] = "00:00:00.200",
            ["Messaging:KomboRedeliveryIntervals:1"] = "00:00:00.500",
            ["Logging:LogLevel:Polly"] = "Information",
        }, builder => builder.Logging.AddProvider(logs));

        // Part 1: a flaky Kombo.
        await own.Client.ResetAsync();
        await own.Client.SetFaultsAsync(new FaultSettings
        {
            ErrorRate = 0.3,
            RateLimitRate = 0.1 / 0.7,
            RetryAfterShare = 0.5,
            RetryAfterSeconds = 1,
            HangRate = 0.02,
            HangMs = 5000,
            LatencyMs = 20,
        });
        await workload.PublishAsync(amqp);
        await Eventually.UntilAsync(() => workload.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(scale.IsFull ? 600 : 150));
        var flakyStats = await own.Client.GetStatsAsync();
        var flakyRedemptions = ChaosWebhooks.Figures(flakyStats.Endpoints.IntegrationByToken, [workload], Path.Combine(worker.Directory, "worker.db"));
        var budget = workload.Commands.Count * (MaxRetryAttempts + 1) * (Redeliveries + 1);
        var flakyOutcomes = workload.Outcomes(ledger);
        var wrongFailures = WrongFailures(workload, ledger);
        var opensWhileFlaky = CircuitEvents(logs, "OnCircuitOpened");

        // Part 2: Kombo down: the breaker opens, calls stop, and once Kombo is back it closes.
        await own.Client.ResetAsync();
        await own.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 1.0 });
        await outage.PublishAsync(amqp);
        await Eventually.HoldsAsync(() => CircuitEvents(logs, "OnCircuitOpened") > opensWhileFlaky, "the circuit breaker opened",
            TimeSpan.FromSeconds(30));
        var callsWhenOpened = (await own.Client.GetStatsAsync()).TotalCalls;
        await Task.Delay(BreakDuration / 2);
        var callsWhileOpen = (await own.Client.GetStatsAsync()).TotalCalls - callsWhenOpened;
        await Eventually.UntilAsync(() => outage.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(60));
        var outageOutcomes = outage.Outcomes(ledger);

        // Kombo is back. The breaker stays open for its break duration (commands then fail fast, as they should),
        // then lets a trial call through, which succeeds and closes it.
        await own.Client.SetFaultsAsync(FaultSettings.None);
        var closesBefore = CircuitEvents(logs, "OnCircuitClosed");
        var recovering = Stopwatch.StartNew();
        await Task.Delay(BreakDuration + TimeSpan.FromMilliseconds(300));
        await afterwards.PublishAsync(amqp);
        await Eventually.UntilAsync(() => afterwards.Unanswered(ledger).Count == 0, TimeSpan.FromSeconds(60));
        await Eventually.UntilAsync(() => CircuitEvents(logs, "OnCircuitClosed") > closesBefore, TimeSpan.FromSeconds(30));
        var closedAfter = recovering.Elapsed;

        // Half-open (a trial call let through) no sooner than the break duration after the circuit opened.
        var opened = CircuitLogs(logs, "OnCircuitOpened").LastOrDefault()?.At ?? DateTimeOffset.MaxValue;
        var halfOpened = CircuitLogs(logs, "OnCircuitHalfOpened").FirstOrDefault(l => l.At > opened)?.At;
        var all = new[] { workload, outage, afterwards };
        var unanswered = all.Sum(w => w.Unanswered(ledger).Count);
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "kombo-faults",
            Commands = all.Sum(w => w.Commands.Count),
            Disruptions = $"30% 5xx, 10% 429, 2% hangs; then a full outage",
            DuplicateEvents = ledger.DuplicateCount(),
            Unanswered = unanswered,
            Duration = started.Elapsed,
            ByTokenCallsPerRedemption = flakyRedemptions.PerRedemption,
            Notes = $"flaky: {ChaosWorkload.Describe(flakyOutcomes)}, {flakyRedemptions}, {flakyStats.TotalCalls} Kombo calls (budget {budget}; " +
                    $"{flakyStats.Faults.ServerError} 5xx, {flakyStats.Faults.RateLimited} 429, {flakyStats.Faults.Hang} hangs), " +
                    $"circuit opened {opensWhileFlaky}x; outage: {ChaosWorkload.Describe(outageOutcomes)}, {callsWhileOpen} calls while open, " +
                    $"half-open {(halfOpened - opened)?.TotalSeconds:0.0} s after opening, closed {closedAfter.TotalSeconds:0.0} s after Kombo was back; afterwards: {ChaosWorkload.Describe(afterwards.Outcomes(ledger))}",
        });

        Assert.Equal(0, unanswered);
        Assert.True(CircuitEvents(logs, "OnCircuitClosed") > closesBefore, "The circuit breaker did not close after Kombo was back.");
        Assert.Empty(wrongFailures);
        Assert.True(flakyStats.TotalCalls <= budget, $"{flakyStats.TotalCalls} Kombo calls for {workload.Commands.Count} commands: over the budget of {budget}.");
        Assert.True(flakyOutcomes.GetValueOrDefault("succeeded") >= workload.Commands.Count * 95 / 100, $"Too few successes under a flaky Kombo: {ChaosWorkload.Describe(flakyOutcomes)}");
        // A link can only be unavailable. A redemption whose calls may have run at Kombo waits, and is settled from its
        // token's integration-created (stored when the emulator issued the token), else outcome_unknown.
        var redemptions = outage.Commands.Count(c => c.TokenHash is not null);
        Assert.Equal(outage.Commands.Count, outageOutcomes
            .Where(o => o.Key is FailureReasons.KomboUnavailable or FailureReasons.OutcomeUnknown or "succeeded").Sum(o => o.Value));
        Assert.True(outageOutcomes.GetValueOrDefault("succeeded") + outageOutcomes.GetValueOrDefault(FailureReasons.OutcomeUnknown) <= redemptions,
            $"Only redemptions may end other than kombo_unavailable in an outage: {ChaosWorkload.Describe(outageOutcomes)}");
        Assert.Empty(WrongFailures(outage, ledger));
        Assert.True(callsWhileOpen <= 2, $"{callsWhileOpen} calls reached Kombo while the circuit was open.");
        Assert.NotNull(halfOpened);
        Assert.True(halfOpened - opened >= BreakDuration - TimeSpan.FromMilliseconds(50),
            $"The circuit let a trial call through {(halfOpened - opened)?.TotalSeconds:0.00} s after opening, before its break duration of {BreakDuration.TotalSeconds} s.");
        Assert.Equal(new Dictionary<string, int> { ["succeeded"] = afterwards.Commands.Count }, afterwards.Outcomes(ledger));
        Assert.Empty(ledger.DuplicatesWithAnotherId());
    }

    /// <summary>
    /// Failures that are not a retryable kombo_unavailable carrying a transient Kombo code (or none), nor, for a
    /// redemption, outcome_unknown: a 500 or 502 may come after Kombo spent the token, so it proves nothing unspent.
    /// </summary>
    private static List<string> WrongFailures(ChaosWorkload workload, EventLedger ledger)
    {
        var mine = workload.Commands.Select(c => c.CorrelationId).ToHashSet();
        var redemptions = workload.Commands.Where(c => c.TokenHash is not null).Select(c => c.CorrelationId).ToHashSet();
        return ledger.Entries
            .Where(e => mine.Contains(e.CorrelationId) && e.Reason is not null)
            .Where(e => !(e.Reason == FailureReasons.OutcomeUnknown && redemptions.Contains(e.CorrelationId)))
            .Where(e => e.Reason != FailureReasons.KomboUnavailable
                || !e.Message.GetProperty("retryable").GetBoolean()
                || !TransientCodes.Contains(e.Message.TryGetProperty("komboErrorCode", out var code) ? code.GetString() : null))
            .Select(e => $"{e.Type} {e.CorrelationId}: {e.Message}")
            .ToList();
    }

    private static int CircuitEvents(LogCapture logs, string eventName) => CircuitLogs(logs, eventName).Count;

    /// <summary>Polly's telemetry log lines for one circuit-breaker event, in order.</summary>
    private static List<CapturedLog> CircuitLogs(LogCapture logs, string eventName) =>
        logs.Logs.Where(l => l.Category.StartsWith("Polly", StringComparison.Ordinal) && l.Text.Contains($"EventName: '{eventName}'", StringComparison.Ordinal))
            .OrderBy(l => l.At)
            .ToList();
}
