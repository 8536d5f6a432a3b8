using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dapper;
using Kombo.Contracts;
using Kombo.Emulator.Faults;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 2: with every logger at its most verbose (Microsoft, System.Net.Http, MassTransit, Polly, the worker), the
/// worker creates a link, redeems its token, redeems it again, fails on an unknown token, rides out a Kombo outage and
/// is refused by Kombo for a wrong API key, and fails a redemption for good; not one log line, structured value, scope
/// or logged exception, no error-queue header, no event body (but a LinkCreated's own link) and no recorded outbox
/// error holds the API key, a connect token or a link, and no Fault event is published for the failed redemption.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class SecretsTests(RabbitMqBroker broker, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _virtualHost = $"chaos-secrets-{Guid.NewGuid():N}";
    private readonly string _wrongKeyVirtualHost = $"chaos-secrets-401-{Guid.NewGuid():N}";
    private readonly string _apiKey = $"sk-chaos-{Guid.NewGuid():N}";
    private KomboEmulatorFixture _kombo = null!;

    public async Task InitializeAsync()
    {
        await broker.Node.CreateVirtualHostAsync(_virtualHost);
        await broker.Node.CreateVirtualHostAsync(_wrongKeyVirtualHost);
        _kombo = await KomboEmulatorFixture.StartAsync(settings: new Dictionary<string, string?> { ["Emulator:ApiKey"] = _apiKey });
    }

    public Task DisposeAsync() => _kombo.DisposeAsync();

    [Fact]
    public async Task No_log_line_at_any_level_holds_the_api_key_a_token_or_a_link()
    {
        var started = Stopwatch.StartNew();
        var logs = new LogCapture();
        var wrongKey = $"sk-chaos-wrong-{Guid.NewGuid():N}";
        var secrets = new Dictionary<string, string> { ["API key"] = _apiKey, ["wrong API key"] = wrongKey };
        var answered = 0;
        var faults = 0;
        IReadOnlyList<BasicGetResult> errored = [];
        List<string> lastErrors = [];
        List<LedgerEntry> events = [];

        await using (var worker = await StartVerboseWorkerAsync(_virtualHost, _apiKey, logs))
        await using (var ledger = await EventLedger.StartAsync(broker, _virtualHost))
        await using (var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos"))
        {
            var link = await CreateLinkAsync(amqp, ledger, "customer-secret");
            Assert.Equal(nameof(LinkCreated), link.Type);
            var url = link.Message.GetProperty("link").GetString()!;
            secrets["link"] = url;
            secrets["link token"] = new Uri(url).Query.Split("token=")[1];

            var token = await _kombo.CompleteLinkAsync(url);
            secrets["connect token"] = token;
            Assert.Equal(nameof(IntegrationConnected), (await RedeemAsync(amqp, ledger, token, "customer-secret")).Type);
            Assert.Equal(nameof(IntegrationConnected), (await RedeemAsync(amqp, ledger, token, "customer-secret")).Type);

            var unknown = $"tok_{Guid.NewGuid():N}{Guid.NewGuid():N}";
            secrets["unknown token"] = unknown;
            Assert.Equal(FailureReasons.TokenInvalidOrExpired, (await RedeemAsync(amqp, ledger, unknown, "customer-secret")).Reason);

            var mismatched = (await _kombo.Client.IssueTokensAsync(1, endUserOriginId: "customer-other"))[0].Token;
            secrets["other customer's token"] = mismatched;
            Assert.Equal(FailureReasons.OriginMismatch, (await RedeemAsync(amqp, ledger, mismatched, "customer-secret")).Reason);

            // A redemption that fails for good (a bug, injected as a trigger; before the Kombo outage opens the circuit):
            // it goes to the _error queue, and no Fault<RedeemConnectToken> carrying its token is published.
            await amqp.BindQueueAsync(FaultQueue, "MassTransit:Fault", "MassTransit:Fault--Kombo.Contracts:RedeemConnectToken--");
            var faulting = (await _kombo.Client.IssueTokensAsync(1))[0];
            var faultingToken = faulting.Token;
            secrets["token of a faulting redemption"] = faultingToken;
            ExecuteOnDatabase(worker, "CREATE TRIGGER fail_integration BEFORE INSERT ON integrations BEGIN SELECT RAISE(ABORT, 'injected: a bug'); END");
            await amqp.PublishJsonAsync("redeem-connect-token", JsonSerializer.Serialize(new { correlationId = Guid.NewGuid(), token = faultingToken, expectedEndUserOriginId = faulting.EndUserOriginId }), Guid.NewGuid());
            await Eventually.HoldsAsync(() => amqp.QueueStateAsync(ErrorQueue).GetAwaiter().GetResult().Messages == 1, "the faulting redemption reached the error queue");
            ExecuteOnDatabase(worker, "DROP TRIGGER fail_integration");

            // Kombo down: every attempt and redelivery fails, and the retry and circuit-breaker logging runs. A load
            // balancer's 503 proves no request ran, so the redemption may say kombo_unavailable (a 500 would not).
            var outageToken = (await _kombo.Client.IssueTokensAsync(1))[0].Token;
            secrets["token redeemed during an outage"] = outageToken;
            await _kombo.Client.SetFaultsAsync(new FaultSettings { ErrorRate = 1.0, PlainText503Share = 1.0 });
            Assert.Equal(FailureReasons.KomboUnavailable, (await RedeemAsync(amqp, ledger, outageToken, "customer-outage")).Reason);
            Assert.Equal(FailureReasons.KomboUnavailable, (await CreateLinkAsync(amqp, ledger, "customer-outage")).Reason);
            await _kombo.Client.ResetAsync();
            answered = ledger.Entries.Count;

            faults = (await amqp.DrainAsync(FaultQueue)).Count;
            errored = await amqp.DrainAsync(ErrorQueue);
            lastErrors = QueryDatabase(worker, "SELECT last_error FROM outbox WHERE last_error IS NOT NULL");
            events = [.. ledger.Entries];
        }

        // Kombo refuses the key (401): worker configured with a wrong one.
        await using (var worker = await StartVerboseWorkerAsync(_wrongKeyVirtualHost, wrongKey, logs))
        await using (var ledger = await EventLedger.StartAsync(broker, _wrongKeyVirtualHost))
        await using (var amqp = await AmqpClient.ConnectAsync(broker.Node, _wrongKeyVirtualHost, "kombo-chaos"))
        {
            var refused = await CreateLinkAsync(amqp, ledger, "customer-401");
            Assert.Equal(FailureReasons.KomboUnauthorized, refused.Reason);
            Assert.Equal("PLATFORM.AUTHENTICATION_INVALID", refused.Message.GetProperty("komboErrorCode").GetString());
            var refusedToken = (await _kombo.Client.IssueTokensAsync(1))[0].Token;
            secrets["token redeemed with a wrong key"] = refusedToken;
            Assert.Equal(FailureReasons.KomboUnauthorized, (await RedeemAsync(amqp, ledger, refusedToken, "customer-401")).Reason);
            answered += ledger.Entries.Count;
        }

        var captured = logs.Logs.ToList();

        var leaks = captured
            .SelectMany(log => secrets.Where(secret => log.Text.Contains(secret.Value, StringComparison.Ordinal))
                .Select(secret => $"{secret.Key} in {log.Category} [{log.Level}]: {log.Text}"))
            .ToList();

        // Beyond the logs: error-queue headers, event bodies (a LinkCreated carries its own link, by design) and the
        // outbox's recorded publish errors. The error queue's body keeps the original command, token included (README).
        var errorHeaders = errored.SelectMany(message => message.BasicProperties.Headers ?? new Dictionary<string, object?>())
            .Select(header => $"{header.Key}={(header.Value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : header.Value)}")
            .ToList();
        leaks.AddRange(errorHeaders.SelectMany(header => secrets.Where(secret => header.Contains(secret.Value, StringComparison.Ordinal))
            .Select(secret => $"{secret.Key} in an error-queue header: {header}")));
        leaks.AddRange(events.SelectMany(e => secrets
            .Where(secret => !(e.Type == nameof(LinkCreated) && secret.Key is "link" or "link token"))
            .Where(secret => e.Message.GetRawText().Contains(secret.Value, StringComparison.Ordinal))
            .Select(secret => $"{secret.Key} in a {e.Type} event body")));
        leaks.AddRange(lastErrors.SelectMany(error => secrets.Where(secret => error.Contains(secret.Value, StringComparison.Ordinal))
            .Select(secret => $"{secret.Key} in the outbox's last_error: {error}")));
        var categories = captured.GroupBy(l => l.Category.Split('.')[0]).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{captured.Count} log entries: " + string.Join(", ", categories.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {c.Value}")));
        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "secrets",
            Commands = 10,
            Unanswered = 9 - answered,
            Duration = started.Elapsed,
            Notes = $"{captured.Count} log entries at Trace from {captured.Select(l => l.Category).Distinct().Count()} categories, " +
                    $"{errorHeaders.Count} error-queue headers, {events.Count} events, {lastErrors.Count} outbox errors; " +
                    $"{leaks.Count} leaks of {secrets.Count} secrets; {faults} fault events (1 command to _error, not answered, by design)",
        });

        Assert.True(leaks.Count == 0, "Secrets in the logs:" + Environment.NewLine + string.Join(Environment.NewLine, leaks.Take(20)));
        Assert.Contains(captured, l => l.Category.StartsWith("MassTransit", StringComparison.Ordinal) && l.Level <= LogLevel.Debug);
        Assert.Contains(captured, l => l.Category.StartsWith("Polly", StringComparison.Ordinal));
        Assert.Contains(captured, l => l.Category.StartsWith("Microsoft", StringComparison.Ordinal) && l.Level <= LogLevel.Debug);
        Assert.Contains(captured, l => l.Category.StartsWith("Kombo.Worker", StringComparison.Ordinal) && l.Level <= LogLevel.Debug);
        Assert.Equal(9, answered);
        Assert.Equal(0, faults);
        Assert.Single(errored);
        Assert.Contains(secrets["token of a faulting redemption"], Encoding.UTF8.GetString(errored[0].Body.Span), StringComparison.Ordinal);
        Assert.Contains(errorHeaders, header => header.StartsWith("MT-Fault-Message=", StringComparison.Ordinal));
    }

    private const string FaultQueue = "chaos-secrets-faults";
    private const string ErrorQueue = "redeem-connect-token_error";

    private static void ExecuteOnDatabase(WorkerUnderTest worker, string sql)
    {
        using var connection = OpenDatabase(worker);
        connection.Execute(sql);
    }

    private static List<string> QueryDatabase(WorkerUnderTest worker, string sql)
    {
        using var connection = OpenDatabase(worker);
        return [.. connection.Query<string>(sql)];
    }

    private static SqliteConnection OpenDatabase(WorkerUnderTest worker)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(worker.Directory, "worker.db")};Pooling=False;Default Timeout=30");
        connection.Open();
        return connection;
    }

    private Task<WorkerUnderTest> StartVerboseWorkerAsync(string virtualHost, string apiKey, LogCapture logs) =>
        WorkerUnderTest.StartAsync(broker, virtualHost, _kombo, new()
        {
            ["Kombo:ApiKey"] = apiKey,
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:System"] = "Trace",
            ["Logging:LogLevel:System.Net.Http"] = "Trace",
            ["Logging:LogLevel:MassTransit"] = "Trace",
            ["Logging:LogLevel:Polly"] = "Trace",
        }, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(logs);
        });

    private static async Task<LedgerEntry> CreateLinkAsync(AmqpClient amqp, EventLedger ledger, string originId)
    {
        var correlationId = Guid.NewGuid();
        await amqp.PublishJsonAsync("create-connect-link", JsonSerializer.Serialize(new
        {
            correlationId,
            endUserEmail = "admin@acme.test",
            endUserOrganizationName = "Acme, Inc.",
            endUserOriginId = originId,
            integrationTool = "personio",
        }), Guid.NewGuid());
        return await AnswerAsync(ledger, correlationId);
    }

    private static async Task<LedgerEntry> RedeemAsync(AmqpClient amqp, EventLedger ledger, string token, string? expectedOriginId)
    {
        var correlationId = Guid.NewGuid();
        await amqp.PublishJsonAsync("redeem-connect-token", JsonSerializer.Serialize(new
        {
            correlationId,
            token,
            expectedEndUserOriginId = expectedOriginId,
        }), Guid.NewGuid());
        return await AnswerAsync(ledger, correlationId);
    }

    private static async Task<LedgerEntry> AnswerAsync(EventLedger ledger, Guid correlationId)
    {
        await Eventually.HoldsAsync(() => ledger.Entries.Any(e => e.CorrelationId == correlationId), $"command {correlationId} was answered");
        return ledger.Entries.First(e => e.CorrelationId == correlationId);
    }
}
