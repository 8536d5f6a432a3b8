using Kombo.Testing;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Sends a workload's chains (<see cref="ChaosWorkload.Chains"/>) causally: each chain's first command at once, every
/// further one only once the ledger holds an answer to the one before. A command then commits after the previous one
/// of its end user on any instance, so its outbox sequence is higher too: the sequence order of a chain is its commit
/// order, even on PostgreSQL, where concurrent transactions take sequences in another order than they commit.
/// </summary>
public sealed class CausalSender : IAsyncDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    private readonly CancellationTokenSource _stop = new();
    private int _sent;

    private CausalSender()
    {
    }

    /// <summary>Completes once every command was sent; faults if a publish failed.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Publishes, in the background on <paramref name="amqp"/>, the first command of every chain, then the rest.</summary>
    public static CausalSender Start(AmqpClient amqp, ChaosWorkload workload, EventLedger ledger)
    {
        var sender = new CausalSender();
        sender.Completion = Task.Run(() => sender.SendAllAsync(amqp, workload.Chains, ledger));
        return sender;
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
            // Stopped before every chain ended: the scenario reports what was left unsent as unanswered.
        }

        _stop.Dispose();
    }

    private async Task SendAllAsync(AmqpClient amqp, IReadOnlyList<IReadOnlyList<ChaosCommand>> chains, EventLedger ledger)
    {
        var next = new int[chains.Count];
        for (var chain = 0; chain < chains.Count && !_stop.IsCancellationRequested; chain++)
        {
            await SendAsync(amqp, chains[chain][0]);
            next[chain] = 1;
        }

        var open = Enumerable.Range(0, chains.Count).Where(chain => next[chain] < chains[chain].Count).ToList();
        while (open.Count > 0)
        {
            await Task.Delay(Poll, _stop.Token);
            var answered = ledger.Entries.Select(e => e.CorrelationId).ToHashSet();
            foreach (var chain in open.ToList())
            {
                if (!answered.Contains(chains[chain][next[chain] - 1].CorrelationId))
                {
                    continue;
                }

                await SendAsync(amqp, chains[chain][next[chain]]);
                if (++next[chain] == chains[chain].Count)
                {
                    open.Remove(chain);
                }
            }
        }
    }

    private async Task SendAsync(AmqpClient amqp, ChaosCommand command)
    {
        await amqp.PublishJsonAsync(command.Queue, command.Json, command.MessageId);
        Interlocked.Increment(ref _sent);
    }
}
