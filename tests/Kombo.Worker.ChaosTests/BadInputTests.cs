using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Scenario 1: every message of the bad-input corpus, each between two good commands, against the real worker on a
/// real broker. Each bad message is answered with <c>invalid_request</c> or lands in its queue's error queue with
/// the reason in MassTransit's fault headers, exactly as the corpus says; the good ones around it all succeed.
/// </summary>
[Collection(BrokerCollection.Name)]
[Trait("Category", "Chaos")]
public sealed class BadInputTests(RabbitMqBroker broker, KomboEmulatorFixture kombo, ITestOutputHelper output)
    : IClassFixture<KomboEmulatorFixture>, IAsyncLifetime
{
    private static readonly string[] CommandQueues = [CreateLink, RedeemToken];
    private const string CreateLink = "create-connect-link";
    private const string RedeemToken = "redeem-connect-token";

    private readonly string _virtualHost = $"chaos-bad-input-{Guid.NewGuid():N}";

    public Task InitializeAsync() => broker.Node.CreateVirtualHostAsync(_virtualHost);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Malformed_messages_are_answered_or_dead_lettered_with_their_reason_and_never_hold_up_good_ones()
    {
        var started = Stopwatch.StartNew();
        var corpus = BadInputCorpus.Load();
        Assert.True(corpus.Count >= 50, $"The corpus holds {corpus.Count} cases; it should hold at least 50.");
        var rounds = ChaosScale.Current.BadInputRounds;

        await using var worker = await WorkerUnderTest.StartAsync(broker, _virtualHost, kombo);
        await using var ledger = await EventLedger.StartAsync(broker, _virtualHost);
        await using var amqp = await AmqpClient.ConnectAsync(broker.Node, _virtualHost, "kombo-chaos");
        var tokens = await kombo.Client.IssueTokensAsync(corpus.Count * rounds);

        var good = new List<GoodCommand>();
        var bad = new List<BadInputMessage>();
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < corpus.Count; i++)
            {
                good.Add(await PublishGoodAsync(amqp, good.Count, tokens[(round * corpus.Count) + i]));
                var message = corpus[i].Instantiate($"{corpus[i].Name}#{round}");
                await amqp.PublishAsync(message.Case.Queue, "", message.Body, message.Properties);
                bad.Add(message);
            }
        }

        good.Add(await PublishGoodAsync(amqp, good.Count, null));

        var expectedInErrorQueues = bad.Count(m => m.Case.Expect == BadInputCase.ErrorQueue);
        // Bounded waits that do not throw: the comparison below says which cases went where.
        var deadLettered = new List<DeadLetter>();
        await Eventually.UntilAsync(() => good.All(g => g.IsAnswered(ledger)), TimeSpan.FromSeconds(60));
        await Eventually.UntilAsync(
            () => bad.Where(m => m.Case.Expect != BadInputCase.ErrorQueue && (m.MessageId is not null || m.CorrelationId != Guid.Empty))
                .All(m => FailureFor(ledger, m) is not null),
            TimeSpan.FromSeconds(30));
        await Eventually.UntilAsync(async () => await QueueTotalAsync(amqp, q => q + "_error") >= expectedInErrorQueues, TimeSpan.FromSeconds(30));

        foreach (var queue in CommandQueues)
        {
            foreach (var suffix in new[] { "_error", "_skipped" })
            {
                deadLettered.AddRange((await amqp.DrainAsync(queue + suffix)).Select(m => DeadLetter.Read(queue + suffix, m)));
            }
        }

        var outcomes = Observe(bad, ledger, deadLettered);
        foreach (var outcome in outcomes)
        {
            output.WriteLine($"{outcome.Message.Label,-44} expected {outcome.Message.Case.Expect,-16} got {outcome.Observed}");
        }

        var wrong = outcomes.Where(o => !o.AsExpected).ToList();
        var lost = outcomes.Count(o => o.Observed == "nothing") + good.Count(g => !g.IsAnswered(ledger));
        var stillQueued = 0u;
        foreach (var queue in CommandQueues)
        {
            stillQueued += (await amqp.QueueStateAsync(queue)).Messages;
        }

        ChaosReport.Record(output, new ChaosOutcome
        {
            Scenario = "bad-input",
            Commands = good.Count + bad.Count,
            Lost = lost,
            DuplicateRows = DuplicateRows(worker),
            DuplicateEvents = ledger.DuplicateCount(),
            Unanswered = wrong.Count + (int)stillQueued,
            Duration = started.Elapsed,
            Notes = $"{corpus.Count} cases x {rounds}: {outcomes.Count(o => o.Observed == FailureReasons.InvalidRequest)} invalid_request, " +
                    $"{outcomes.Count(o => o.Observed == FailureReasons.TokenInvalidOrExpired)} token_invalid_or_expired, " +
                    $"{outcomes.Count(o => o.Observed.StartsWith(BadInputCase.ErrorQueue, StringComparison.Ordinal))} in _error; " +
                    $"{good.Count} good commands between them",
        });

        Assert.True(wrong.Count == 0, "Bad messages that did not end as the corpus says:" + Environment.NewLine +
            string.Join(Environment.NewLine, wrong.Select(o => $"  {o.Message.Label}: expected {o.Message.Case.Expect}, got {o.Observed}")));
        Assert.All(good, g => Assert.True(g.IsAnswered(ledger), $"good command {g.CorrelationId} ({g.Queue}) got no success event"));
        Assert.All(deadLettered.Where(d => d.Case is not null), letter =>
        {
            Assert.EndsWith("_error", letter.Queue, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(letter.ExceptionType), $"{letter.Case} has no MT-Fault-ExceptionType header");
            Assert.False(string.IsNullOrWhiteSpace(letter.FaultMessage), $"{letter.Case} has no MT-Fault-Message header");
        });
        Assert.Empty(ledger.DuplicatesWithAnotherId());
        Assert.Equal(0u, stillQueued);

        // Still up: the host runs, both queues have their consumer, and a last command is handled after all of it.
        Assert.False(worker.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        foreach (var queue in CommandQueues)
        {
            Assert.True((await amqp.QueueStateAsync(queue)).Consumers > 0, $"{queue} lost its consumer");
        }

        var last = await PublishGoodAsync(amqp, 0, null);
        await Eventually.HoldsAsync(() => last.IsAnswered(ledger), "a command sent after the whole corpus was answered");
    }

    private static async Task<GoodCommand> PublishGoodAsync(AmqpClient amqp, int number, Kombo.Emulator.EndUser.IssueTokensEndpoint.IssuedTokenView? token)
    {
        var correlationId = Guid.NewGuid();
        if (token is null || number % 2 == 0)
        {
            await amqp.PublishJsonAsync(CreateLink, JsonSerializer.Serialize(new
            {
                correlationId,
                endUserEmail = $"admin{number}@acme.test",
                endUserOrganizationName = "Acme, Inc.",
                endUserOriginId = $"good-{number}",
                integrationTool = "personio",
            }), Guid.NewGuid());
            return new GoodCommand(CreateLink, correlationId, nameof(LinkCreated));
        }

        await amqp.PublishJsonAsync(RedeemToken, JsonSerializer.Serialize(new
        {
            correlationId,
            token = token.Token,
            expectedEndUserOriginId = token.EndUserOriginId,
        }), Guid.NewGuid());
        return new GoodCommand(RedeemToken, correlationId, nameof(IntegrationConnected));
    }

    private static string FailureType(string queue) => queue == CreateLink ? nameof(ConnectLinkFailed) : nameof(ConnectTokenRedemptionFailed);

    /// <summary>The event answering <paramref name="message"/>: by correlation id, or by the event id derived from its message id.</summary>
    private static LedgerEntry? AnswerFor(EventLedger ledger, BadInputMessage message)
    {
        var derivedIds = EventLedger.EventTypes.Select(type => message.MessageId is { } id ? MessageIds.Derive(id, type).ToString() : null).ToHashSet();
        return ledger.Entries.FirstOrDefault(e =>
            (message.CorrelationId != Guid.Empty && e.CorrelationId == message.CorrelationId) || derivedIds.Contains(e.MessageId));
    }

    private static LedgerEntry? FailureFor(EventLedger ledger, BadInputMessage message) =>
        AnswerFor(ledger, message) is { } answer && answer.Type == FailureType(message.Case.Queue) ? answer : null;

    private static List<BadOutcome> Observe(List<BadInputMessage> messages, EventLedger ledger, List<DeadLetter> deadLettered)
    {
        // A message with neither a correlation id nor a message id can only be matched to an answer that matches no
        // other message: hand those out, one per anonymous message, so two such messages need two answers.
        var known = messages.SelectMany(m => EventLedger.EventTypes.Select(type => m.MessageId is { } id ? MessageIds.Derive(id, type).ToString() : ""))
            .ToHashSet();
        var anonymousAnswers = ledger.Entries.Where(e => e.CorrelationId == Guid.Empty && !known.Contains(e.MessageId))
            .GroupBy(e => e.Type).ToDictionary(g => g.Key, g => new Queue<LedgerEntry>(g));

        return messages.Select(message =>
        {
            var letter = deadLettered.FirstOrDefault(d => d.Case == message.Label);
            var answer = AnswerFor(ledger, message);
            if (answer is null && message.CorrelationId == Guid.Empty && message.MessageId is null
                && anonymousAnswers.TryGetValue(FailureType(message.Case.Queue), out var answers))
            {
                answers.TryDequeue(out answer);
            }

            var observed = (answer, letter) switch
            {
                ({ } a, null) => a.Reason ?? $"succeeded ({a.Type})",
                (null, { } l) when l.Queue.EndsWith("_error", StringComparison.Ordinal) => $"{BadInputCase.ErrorQueue} ({l.ExceptionType}: {Shorten(l.FaultMessage)})",
                (null, { } l) => $"{l.Queue} (MT-Reason {l.Reason})",
                ({ } a, { } l) => $"both {a.Reason ?? a.Type} and {l.Queue}",
                _ => "nothing",
            };
            var asExpected = message.Case.Expect == BadInputCase.ErrorQueue
                ? observed.StartsWith(BadInputCase.ErrorQueue + " (", StringComparison.Ordinal)
                : observed == message.Case.Expect;
            return new BadOutcome(message, observed, asExpected);
        }).ToList();
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 120 ? text : text[..120] + "…";

    private static async Task<long> QueueTotalAsync(AmqpClient amqp, Func<string, string> name)
    {
        long total = 0;
        foreach (var queue in CommandQueues)
        {
            total += (await amqp.QueueStateAsync(name(queue))).Messages;
        }

        return total;
    }

    private static int DuplicateRows(WorkerUnderTest worker)
    {
        using var connection = worker.Services.GetRequiredService<SqliteDatabase>().Open();
        return connection.ExecuteScalar<int>("SELECT COUNT(*) - COUNT(DISTINCT command_id) FROM connect_links")
            + connection.ExecuteScalar<int>("SELECT COUNT(*) - COUNT(DISTINCT integration_id) FROM token_redemptions");
    }

    private sealed record GoodCommand(string Queue, Guid CorrelationId, string SuccessType)
    {
        public bool IsAnswered(EventLedger ledger) =>
            ledger.Entries.Any(e => e.CorrelationId == CorrelationId && e.Type == SuccessType);
    }

    private sealed record BadOutcome(BadInputMessage Message, string Observed, bool AsExpected);

    /// <summary>A message MassTransit moved aside, with the headers that say why.</summary>
    private sealed record DeadLetter(string Queue, string? Case, string? ExceptionType, string? FaultMessage, string? Reason)
    {
        public static DeadLetter Read(string queue, BasicGetResult message)
        {
            var headers = message.BasicProperties.Headers ?? new Dictionary<string, object?>();
            string? Text(string name) => headers.TryGetValue(name, out var value) ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => null,
                var other => other.ToString(),
            } : null;
            return new DeadLetter(queue, Text(BadInputMessage.CaseHeader), Text("MT-Fault-ExceptionType"), Text("MT-Fault-Message"), Text("MT-Reason"));
        }
    }
}
