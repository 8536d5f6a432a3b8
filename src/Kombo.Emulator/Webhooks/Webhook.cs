namespace Kombo.Emulator.Webhooks;

/// <summary>
/// One webhook as Kombo would send it. Body and signature are fixed when it is made, so every retry and every
/// duplicate carries the same id and the same bytes.
/// </summary>
public sealed class Webhook(string id, string type, string? integrationId, string lane, byte[] body, string signature, DateTimeOffset createdAt)
{
    private volatile string _status = WebhookStatus.Pending;
    private int _attempts;

    public string Id => id;

    public string Type => type;

    public string? IntegrationId => integrationId;

    /// <summary>Webhooks of one lane (an integration, or a link for connection-flow-failed) are delivered in order.</summary>
    public string Lane => lane;

    public ReadOnlyMemory<byte> Body => body;

    public string Signature => signature;

    public DateTimeOffset CreatedAt => createdAt;

    public string Status
    {
        get => _status;
        set => _status = value;
    }

    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Stopwatch timestamp of the first attempt, for <see cref="WebhookRetryOptions.GiveUpAfter"/>.</summary>
    public long FirstAttemptAt { get; set; }

    /// <summary>Whether the reorder fault has had its one draw for this webhook (read and written under the queue's lock).</summary>
    public bool ReorderDrawn { get; set; }

    public int CountAttempt() => Interlocked.Increment(ref _attempts);
}

public static class WebhookStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Abandoned = "abandoned";
}
