using Dapper;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Tests.Support;
using MassTransit;

namespace Kombo.Worker.Tests.Connect;

/// <summary>
/// Two deliveries handled at the same time. For a link, both get past every lookup before either commits (Kombo is
/// held until both calls have arrived), so the decision falls inside the commit's transaction (the inbox's INSERT OR
/// IGNORE). For one token, the second redemption waits for the first.
/// </summary>
public sealed class ConcurrentDeliveryTests
{
    [Fact]
    public async Task Same_command_delivered_twice_at_once_has_one_effect_and_one_event()
    {
        // The held call must outlast its wait for the other one: a timed-out attempt would be retried, a third call.
        await using var harness = await Harness.StartAsync(new() { ["Kombo:AttemptTimeout"] = "00:00:15", ["Kombo:TotalTimeout"] = "00:00:30" });
        var bothCalled = HoldKomboUntilCalls(harness, 2);
        var command = new CreateConnectLink
        {
            CorrelationId = NewId.NextGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            EndUserOriginId = "customer-1",
            IntegrationTool = "personio",
            LinkType = "EMBEDDED",
        };
        var messageId = NewId.NextGuid();

        await Task.WhenAll(
            harness.Bus.Bus.Publish(command, context => context.MessageId = messageId),
            harness.Bus.Bus.Publish(command, context => context.MessageId = messageId));

        // The harness lists one consume per message id, so the Kombo calls and the table tell the two apart.
        await Eventually.HoldsAsync(() => harness.Kombo.CreateLinkCalls == 2 && harness.Count("SELECT COUNT(*) FROM inbox") == 1, "both deliveries were handled");
        await harness.Bus.InactivityTask;
        Assert.True(bothCalled.IsSet, "the two deliveries did not overlap");
        Assert.Equal(2, harness.Kombo.CreateLinkCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'LinkCreated'"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM inbox"));
    }

    [Fact]
    public async Task Two_commands_redeeming_one_token_at_once_ask_kombo_once_and_share_the_first_event_id()
    {
        // One redemption of a token at a time (TokenLocks): the second command waits for the first's commit and is
        // answered from the store, so a single-use token is never spent by one command and refused to the other.
        await using var harness = await Harness.StartAsync();
        harness.Kombo.SingleUseTokens = true;
        harness.Kombo.AddToken("token-1", "personio:abc", "customer-1");
        RedeemConnectToken Redeem() => new() { CorrelationId = NewId.NextGuid(), Token = "token-1", ExpectedEndUserOriginId = "customer-1" };

        await Task.WhenAll(harness.Bus.Bus.Publish(Redeem()), harness.Bus.Bus.Publish(Redeem()));

        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM inbox") == 2, "both commands were committed");
        Assert.Equal(1, harness.Kombo.TokenCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM integrations"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM token_redemptions"));
        Assert.Equal(2, harness.Count("SELECT COUNT(*) FROM inbox WHERE outcome = 'succeeded'"));
        using var connection = harness.OpenDatabase();
        var events = connection.Query<string>("SELECT message_id FROM outbox WHERE message_type = 'IntegrationConnected'").ToList();
        Assert.Equal(2, events.Count);
        Assert.Single(events.Distinct());
        Assert.Equal(events[0], connection.ExecuteScalar<string>("SELECT event_message_id FROM token_redemptions"));
    }

    /// <summary>Each Kombo call waits (bounded) until <paramref name="calls"/> calls have arrived, then answers as usual.</summary>
    /// <remarks>
    /// The wait is asynchronous: a blocked thread-pool thread would hold back the very delivery it waits for.
    /// </remarks>
    private static AllArrived HoldKomboUntilCalls(Harness harness, int calls)
    {
        var arrived = new AllArrived(calls);
        harness.Kombo.RespondAsync = async (_, _) =>
        {
            // Long enough for the second delivery to arrive on a loaded machine; both normally arrive within milliseconds.
            await arrived.SignalAndWaitAsync(TimeSpan.FromSeconds(10));
            return null;
        };
        return arrived;
    }

    private sealed class AllArrived(int calls)
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        public bool IsSet => _all.Task.IsCompleted;

        public async Task SignalAndWaitAsync(TimeSpan limit)
        {
            if (Interlocked.Increment(ref _arrived) >= calls)
            {
                _all.TrySetResult();
            }

            await Task.WhenAny(_all.Task, Task.Delay(limit));
        }
    }
}
