using Kombo.Emulator.EndUser;
using Kombo.Testing;
using Kombo.Worker.Connect;
using Kombo.Worker.IntegrationTests.Infrastructure;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// End users finishing Kombo's flow while the workers run: every <see cref="Interval"/> a wave of tokens is issued
/// (Kombo sends each one's <c>integration-created</c> webhook at once) and their redemptions are published right
/// after, so webhooks and commands race. Every other token is sent twice at once (a double click: two commands, two
/// correlation ids, one token), one after the other on the queue, so two instances usually take them together.
/// </summary>
public sealed class RedemptionFeed : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly Lock _gate = new();
    private readonly List<ChaosCommand> _sent = [];
    private readonly HashSet<Guid> _sentIds = [];
    private readonly Dictionary<string, IssueTokensEndpoint.IssuedTokenView> _tokens = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();

    private RedemptionFeed()
    {
    }

    /// <summary>Completes once every wave was sent; faults if issuing or publishing failed.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public int Sent
    {
        get
        {
            lock (_gate)
            {
                return _sent.Count;
            }
        }
    }

    /// <summary>Every token issued, by its hash (as <see cref="ChaosCommand.TokenHash"/> holds it).</summary>
    public IReadOnlyDictionary<string, IssueTokensEndpoint.IssuedTokenView> Tokens
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, IssueTokensEndpoint.IssuedTokenView>(_tokens, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The commands sent so far.</summary>
    public ChaosWorkload Workload()
    {
        lock (_gate)
        {
            return ChaosWorkload.Of(_sent);
        }
    }

    /// <summary>Commands sent so far with an answer in the ledger.</summary>
    public int Answered(EventLedger ledger)
    {
        lock (_gate)
        {
            return ledger.Entries.Select(e => e.CorrelationId).Distinct().Count(_sentIds.Contains);
        }
    }

    public static RedemptionFeed Start(KomboEmulatorFixture kombo, AmqpClient amqp, int tokens, int perWave)
    {
        var feed = new RedemptionFeed();
        feed.Completion = Task.Run(() => feed.SendAllAsync(kombo, amqp, tokens, perWave));
        return feed;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Completion;
        }
        catch (OperationCanceledException)
        {
            // Stopped before every wave was sent: the scenario reports on what was.
        }

        _stop.Dispose();
    }

    private async Task SendAllAsync(KomboEmulatorFixture kombo, AmqpClient amqp, int tokens, int perWave)
    {
        var issued = 0;
        while (issued < tokens)
        {
            var wave = await kombo.Client.IssueTokensAsync(Math.Min(perWave, tokens - issued), cancellationToken: _stop.Token);
            foreach (var token in wave)
            {
                var copies = issued++ % 2 == 0 ? 2 : 1;
                var commands = Enumerable.Range(0, copies).Select(_ => ChaosWorkload.Redeem(token)).ToList();
                lock (_gate)
                {
                    _tokens[IntegrationStore.HashToken(token.Token)] = token;
                }

                foreach (var command in commands)
                {
                    await amqp.PublishJsonAsync(command.Queue, command.Json, command.MessageId);
                    lock (_gate)
                    {
                        _sent.Add(command);
                        _sentIds.Add(command.CorrelationId);
                    }
                }
            }

            await Task.Delay(Interval, _stop.Token);
        }
    }
}
