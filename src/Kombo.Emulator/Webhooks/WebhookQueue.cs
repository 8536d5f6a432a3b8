using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator.Webhooks;

/// <summary>
/// Webhooks waiting for delivery, one lane per integration. A lane hands out its head only; the head leaves the lane
/// once a 2xx acknowledges it, so a lane's webhooks go out in order (unless the reorder fault swaps them) while
/// different lanes are delivered in parallel. All lane state changes under one lock; deliveries run outside it.
/// </summary>
public sealed class WebhookQueue(ActiveWebhookFaults faults, IOptions<EmulatorOptions> options)
{
    private const int RecentCapacity = 500;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly Queue<Lane> _ready = new();
    private readonly SemaphoreSlim _readySignal = new(0);
    private readonly Queue<Webhook> _recent = new();
    private readonly WebhookRetryOptions _retry = options.Value.WebhookRetry;
    private long _queued;
    private long _delivered;
    private long _pending;
    private long _attempts;
    private long _failedAttempts;
    private long _duplicatesSent;
    private long _abandoned;

    public void Enqueue(Webhook webhook)
    {
        lock (_gate)
        {
            _queued++;
            _pending++;
            _recent.Enqueue(webhook);
            if (_recent.Count > RecentCapacity)
            {
                _recent.Dequeue();
            }

            if (!_lanes.TryGetValue(webhook.Lane, out var lane))
            {
                lane = new Lane();
                _lanes[webhook.Lane] = lane;
            }

            var delivery = new Delivery(webhook, IsDuplicate: false);
            if (lane.HeldBack is not null)
            {
                // The held-back head was waiting for exactly this successor: it goes first, without a draw of its own.
                lane.HeldBack = null;
                webhook.ReorderDrawn = true;
                lane.Items.AddFirst(delivery);
                MakeReady(lane);
            }
            else
            {
                lane.Items.AddLast(delivery);
                if (!lane.Parked && lane.Items.Count == 1)
                {
                    MakeReady(lane);
                }
            }
        }
    }

    /// <summary>Waits for a lane whose head can be delivered; the lane stays parked until <see cref="Acknowledged"/> or <see cref="Failed"/>.</summary>
    public async Task<Delivery> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _readySignal.WaitAsync(cancellationToken);
            lock (_gate)
            {
                var lane = _ready.Dequeue();
                var head = lane.Items.First!.Value;
                if (!head.IsDuplicate && !head.Webhook.ReorderDrawn)
                {
                    head.Webhook.ReorderDrawn = true;
                    var (settings, dice) = faults.Snapshot();
                    if (settings.ReorderRate > 0 && dice.Next() < settings.ReorderRate)
                    {
                        if (lane.Items.Count == 1)
                        {
                            HoldBack(lane, TimeSpan.FromMilliseconds(settings.ReorderHoldMs), cancellationToken);
                            continue;
                        }

                        lane.Items.RemoveFirst();
                        lane.Items.AddAfter(lane.Items.First!, head);
                        head = lane.Items.First.Value;
                        head.Webhook.ReorderDrawn = true;
                    }
                }

                lane.Parked = true;
                return head with { Lane = lane };
            }
        }
    }

    public void AttemptStarted(Delivery delivery)
    {
        if (delivery.Webhook.CountAttempt() == 1)
        {
            delivery.Webhook.FirstAttemptAt = Stopwatch.GetTimestamp();
        }

        Interlocked.Increment(ref _attempts);
    }

    public void Acknowledged(Delivery delivery)
    {
        lock (_gate)
        {
            var lane = delivery.Lane!;
            lane.Items.RemoveFirst();
            _pending--;
            if (delivery.IsDuplicate)
            {
                _duplicatesSent++;
            }
            else
            {
                _delivered++;
                delivery.Webhook.Status = WebhookStatus.Delivered;
                var (settings, dice) = faults.Snapshot();
                if (settings.DuplicateRate > 0 && dice.Next() < settings.DuplicateRate)
                {
                    _pending++;
                    lane.Items.AddFirst(delivery with { IsDuplicate = true, Lane = null });
                }
            }

            Continue(delivery.Webhook.Lane, lane);
        }
    }

    /// <summary>Schedules the next attempt with backoff, or gives up once <see cref="WebhookRetryOptions.GiveUpAfter"/> has passed.</summary>
    public void Failed(Delivery delivery, CancellationToken stopping)
    {
        Interlocked.Increment(ref _failedAttempts);
        var webhook = delivery.Webhook;
        if (Stopwatch.GetElapsedTime(webhook.FirstAttemptAt) >= _retry.GiveUpAfter)
        {
            lock (_gate)
            {
                delivery.Lane!.Items.RemoveFirst();
                _pending--;
                _abandoned++;
                if (!delivery.IsDuplicate)
                {
                    webhook.Status = WebhookStatus.Abandoned;
                }

                Continue(webhook.Lane, delivery.Lane);
            }

            return;
        }

        _ = ReadyLaterAsync(delivery.Lane!, _retry.DelayAfter(webhook.Attempts), null, stopping);
    }

    public WebhookCounts Counts()
    {
        lock (_gate)
        {
            return new WebhookCounts(_queued, _delivered, _pending, Interlocked.Read(ref _attempts),
                Interlocked.Read(ref _failedAttempts), _duplicatesSent, _abandoned);
        }
    }

    public IReadOnlyList<Webhook> Recent()
    {
        lock (_gate)
        {
            return [.. _recent];
        }
    }

    private void HoldBack(Lane lane, TimeSpan hold, CancellationToken stopping)
    {
        var token = new object();
        lane.HeldBack = token;
        lane.Parked = true;
        _ = ReadyLaterAsync(lane, hold, token, stopping);
    }

    // A retry or a hold-back waits on the wall clock, not the injected TimeProvider, like the /v1 transport faults.
    private async Task ReadyLaterAsync(Lane lane, TimeSpan delay, object? heldBack, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_gate)
        {
            if (heldBack is not null)
            {
                if (!ReferenceEquals(lane.HeldBack, heldBack))
                {
                    return;
                }

                lane.HeldBack = null;
            }

            MakeReady(lane);
        }
    }

    private void Continue(string key, Lane lane)
    {
        if (lane.Items.Count > 0)
        {
            MakeReady(lane);
            return;
        }

        lane.Parked = false;
        _lanes.Remove(key);
    }

    private void MakeReady(Lane lane)
    {
        lane.Parked = false;
        _ready.Enqueue(lane);
        _readySignal.Release();
    }

    /// <summary>A lane's webhooks in delivery order. Parked: being delivered, waiting to retry, or held back.</summary>
    public sealed class Lane
    {
        public LinkedList<Delivery> Items { get; } = new();

        public bool Parked { get; set; }

        public object? HeldBack { get; set; }
    }
}

/// <summary>One POST to make: an original webhook or a duplicate of one already acknowledged.</summary>
public sealed record Delivery(Webhook Webhook, bool IsDuplicate)
{
    public WebhookQueue.Lane? Lane { get; init; }
}

/// <summary>
/// Webhook counters: <c>queued</c> webhooks made, <c>delivered</c> of them acknowledged with a 2xx, <c>pending</c>
/// deliveries not yet acknowledged (duplicates included), every POST in <c>attempts</c>, the non-2xx and network
/// errors among them in <c>failed_attempts</c>, acknowledged duplicates in <c>duplicates_sent</c>, and those given up
/// after <c>GiveUpAfter</c> in <c>abandoned</c>.
/// </summary>
public sealed record WebhookCounts(
    long Queued, long Delivered, long Pending, long Attempts, long FailedAttempts, long DuplicatesSent, long Abandoned);
