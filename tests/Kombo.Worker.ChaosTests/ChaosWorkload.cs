using System.Data.Common;
using System.Text.Json;
using Dapper;
using Kombo.Contracts;
using Kombo.Emulator.EndUser;
using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.IntegrationTests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// A batch of good commands, as plain JSON with message ids, mixing <c>CreateConnectLink</c>,
/// <c>RedeemConnectToken</c> (tokens the emulator issued) and, in causal chains, <c>CreateReconnectionLink</c>, and
/// what the worker's answers and rows say about them.
/// </summary>
public sealed class ChaosWorkload
{
    public const string CreateLinkQueue = "create-connect-link";
    public const string RedeemTokenQueue = "redeem-connect-token";
    public const string ReconnectionLinkQueue = "create-reconnection-link";

    private ChaosWorkload(IReadOnlyList<ChaosCommand> commands, IReadOnlyList<IReadOnlyList<ChaosCommand>> chains)
    {
        Commands = commands;
        Chains = chains;
    }

    public IReadOnlyList<ChaosCommand> Commands { get; }

    /// <summary>Each end user's commands, to be sent one after the other's answer (<see cref="CreateChainsAsync"/>); else empty.</summary>
    public IReadOnlyList<IReadOnlyList<ChaosCommand>> Chains { get; }

    /// <summary>
    /// Every third command redeems a token; the others create links, for an end user of their own or, with
    /// <paramref name="commandsPerEndUser"/>, several consecutive commands per end user (whose events must keep their
    /// commit order).
    /// </summary>
    public static async Task<ChaosWorkload> CreateAsync(KomboEmulatorFixture kombo, int count, string label, int commandsPerEndUser = 1)
    {
        var redeems = count / 3;
        var tokens = redeems == 0 ? [] : await kombo.Client.IssueTokensAsync(redeems);
        var commands = new List<ChaosCommand>(count);
        for (var i = 0; i < count; i++)
        {
            if (i % 3 == 2 && i / 3 < tokens.Count)
            {
                commands.Add(Redeem(tokens[i / 3]));
            }
            else
            {
                var correlationId = Guid.NewGuid();
                commands.Add(new ChaosCommand(CreateLinkQueue, Guid.NewGuid(), correlationId, JsonSerializer.Serialize(new
                {
                    correlationId,
                    endUserEmail = $"admin{i}@acme.test",
                    endUserOrganizationName = "Acme, Inc.",
                    endUserOriginId = $"{label}-{i / commandsPerEndUser}",
                    integrationTool = "personio",
                }), null));
            }
        }

        return new ChaosWorkload(commands, []);
    }

    /// <summary>
    /// One chain of three commands per end user, <paramref name="count"/> in all: a connect link for another tool
    /// than the end user's integration, the redemption of the token the emulator issued for that integration, then a
    /// reconnection link for it. Sent causally (<see cref="CausalSender"/>), they commit in that order, so their
    /// events must arrive in it.
    /// </summary>
    public static async Task<ChaosWorkload> CreateChainsAsync(KomboEmulatorFixture kombo, int count)
    {
        var tokens = await kombo.Client.IssueTokensAsync(Math.Max(1, (count + 2) / 3));
        var chains = tokens.Select((token, i) => (IReadOnlyList<ChaosCommand>)
        [
            Command(CreateLinkQueue, correlationId => new
            {
                correlationId,
                endUserEmail = $"admin{i}@acme.test",
                endUserOrganizationName = "Acme, Inc.",
                endUserOriginId = token.EndUserOriginId,
                // The token's integration is personio: a personio link for this end user would be already_connected.
                integrationTool = "bamboohr",
            }),
            Command(RedeemTokenQueue, correlationId => new
            {
                correlationId,
                token = token.Token,
                expectedEndUserOriginId = token.EndUserOriginId,
            }, IntegrationStore.HashToken(token.Token)),
            Command(ReconnectionLinkQueue, correlationId => new
            {
                correlationId,
                integrationId = token.IntegrationId,
            }),
        ]).ToList();
        // The last end user's chain is cut short when count is not a multiple of three.
        chains[^1] = [.. chains[^1].Take(count - (3 * (chains.Count - 1)))];
        return new ChaosWorkload([.. chains.SelectMany(chain => chain)], chains);

        static ChaosCommand Command(string queue, Func<Guid, object> body, string? tokenHash = null)
        {
            var correlationId = Guid.NewGuid();
            return new ChaosCommand(queue, Guid.NewGuid(), correlationId, JsonSerializer.Serialize(body(correlationId)), tokenHash);
        }
    }

    /// <summary>A workload of commands made elsewhere, such as the redemptions <see cref="RedemptionFeed"/> sent.</summary>
    public static ChaosWorkload Of(IEnumerable<ChaosCommand> commands) => new([.. commands], []);

    /// <summary>Its end user's redemption of an issued token: a command of its own (fresh message and correlation ids).</summary>
    public static ChaosCommand Redeem(IssueTokensEndpoint.IssuedTokenView token)
    {
        var correlationId = Guid.NewGuid();
        return new ChaosCommand(RedeemTokenQueue, Guid.NewGuid(), correlationId, JsonSerializer.Serialize(new
        {
            correlationId,
            token = token.Token,
            expectedEndUserOriginId = token.EndUserOriginId,
        }), IntegrationStore.HashToken(token.Token));
    }

    public async Task PublishAsync(AmqpClient amqp, IEnumerable<ChaosCommand>? only = null)
    {
        foreach (var command in only ?? Commands)
        {
            await amqp.PublishJsonAsync(command.Queue, command.Json, command.MessageId);
        }
    }

    public IReadOnlyList<ChaosCommand> Unanswered(EventLedger ledger)
    {
        var answered = ledger.Entries.Select(e => e.CorrelationId).ToHashSet();
        return Commands.Where(c => !answered.Contains(c.CorrelationId)).ToList();
    }

    public int AnsweredCount(EventLedger ledger) => Commands.Count - Unanswered(ledger).Count;

    /// <summary>The reason of every failure answer, counted; successes are "succeeded".</summary>
    public Dictionary<string, int> Outcomes(EventLedger ledger)
    {
        var mine = Commands.Select(c => c.CorrelationId).ToHashSet();
        return ledger.Entries.Where(e => mine.Contains(e.CorrelationId))
            .GroupBy(e => e.CorrelationId)
            .Select(g => g.First().Reason ?? "succeeded")
            .GroupBy(reason => reason)
            .ToDictionary(g => g.Key, g => g.Count());
    }

    public static string Describe(Dictionary<string, int> outcomes) =>
        string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Value} {o.Key}"));

    /// <summary>What the worker's SQLite file says about the workload (the file may belong to a live worker: reads only).</summary>
    public StoreFindings Inspect(string databasePath)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 30000;");
        return Inspect(connection);
    }

    /// <summary>What the store behind <paramref name="connection"/> (SQLite or PostgreSQL, the same SQL) says about the workload.</summary>
    public StoreFindings Inspect(DbConnection connection)
    {
        var links = connection.Query<(string CommandId, string CorrelationId)>("SELECT command_id, correlation_id FROM connect_links").ToList();
        var reconnections = connection.Query<string>("SELECT correlation_id FROM reconnection_links").ToList();
        var redemptions = connection.Query<string>("SELECT token_hash FROM token_redemptions").ToList();
        // A second integration row for one end user and tool would be a second integration connected for one token.
        var extraIntegrations = connection.ExecuteScalar<int>("""
            SELECT COALESCE(SUM(n - 1), 0) FROM (
                SELECT COUNT(*) AS n FROM integrations WHERE deleted_at IS NULL GROUP BY end_user_origin_id, tool) AS per_end_user
            """);
        // A pending redemption settled later records its answer under a consumer of its own: not a second handling.
        var inbox = connection.Query<(string MessageId, string CorrelationId, string Outcome)>(
            "SELECT message_id, correlation_id, outcome FROM inbox WHERE consumer <> 'redeem-connect-token-settlement'").ToList();
        var creates = Commands.Where(c => c.Queue == CreateLinkQueue).ToList();
        var redeems = Commands.Where(c => c.Queue == RedeemTokenQueue).ToList();
        var relinks = Commands.Where(c => c.Queue == ReconnectionLinkQueue).ToList();
        var linkRows = links.GroupBy(l => l.CorrelationId).ToDictionary(g => g.Key, g => g.Count());
        var relinkRows = reconnections.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var redemptionRows = redemptions.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var inboxRows = inbox.GroupBy(i => i.CorrelationId).ToDictionary(g => g.Key, g => g.Count());
        var succeeded = inbox.Where(i => i.Outcome is "succeeded" or "uncertain").Select(i => i.CorrelationId).ToHashSet();

        return new StoreFindings
        {
            // A command that succeeded has exactly one business row; one that failed has none.
            MissingRows = creates.Count(c => succeeded.Contains(c.CorrelationId.ToString()) && !linkRows.ContainsKey(c.CorrelationId.ToString()))
                + redeems.Count(c => succeeded.Contains(c.CorrelationId.ToString()) && !redemptionRows.ContainsKey(c.TokenHash!))
                + relinks.Count(c => succeeded.Contains(c.CorrelationId.ToString()) && !relinkRows.ContainsKey(c.CorrelationId.ToString())),
            DuplicateRows = creates.Sum(c => Math.Max(0, linkRows.GetValueOrDefault(c.CorrelationId.ToString()) - 1))
                + relinks.Sum(c => Math.Max(0, relinkRows.GetValueOrDefault(c.CorrelationId.ToString()) - 1))
                + redeems.Sum(c => Math.Max(0, redemptionRows.GetValueOrDefault(c.TokenHash!) - 1))
                + extraIntegrations
                + Commands.Sum(c => Math.Max(0, inboxRows.GetValueOrDefault(c.CorrelationId.ToString()) - 1)),
            Handled = Commands.Count(c => inboxRows.ContainsKey(c.CorrelationId.ToString())),
            PendingOutbox = connection.ExecuteScalar<int>("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL"),
            ParkedOutbox = connection.ExecuteScalar<int>("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"),
        };
    }
}

public sealed record ChaosCommand(string Queue, Guid MessageId, Guid CorrelationId, string Json, string? TokenHash)
{
    public string SuccessType => Queue switch
    {
        ChaosWorkload.CreateLinkQueue => nameof(LinkCreated),
        ChaosWorkload.ReconnectionLinkQueue => nameof(ReconnectionLinkCreated),
        _ => nameof(IntegrationConnected),
    };
}

public sealed record StoreFindings
{
    /// <summary>Commands recorded as succeeded without their business row.</summary>
    public int MissingRows { get; init; }

    /// <summary>Second business or inbox rows for one command.</summary>
    public int DuplicateRows { get; init; }

    /// <summary>Commands with an inbox row: handled and committed.</summary>
    public int Handled { get; init; }

    public int PendingOutbox { get; init; }

    public int ParkedOutbox { get; init; }
}
