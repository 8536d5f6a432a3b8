namespace Kombo.Worker.Outbox;

/// <summary>An outbox row as the relay publishes it.</summary>
internal sealed record PendingMessage
{
    public long Sequence { get; init; }

    public string MessageId { get; init; } = "";

    public string MessageType { get; init; } = "";

    public string Body { get; init; } = "";

    public string CorrelationId { get; init; } = "";

    public string? ConversationId { get; init; }

    public string? InitiatorId { get; init; }

    public string? RequestId { get; init; }

    public string? Destination { get; init; }

    public string? OrderingKey { get; init; }

    public int Attempts { get; init; }

    public long CreatedAt { get; init; }

    public string? TraceParent { get; init; }

    public string? TraceState { get; init; }

    public string? Baggage { get; init; }

    /// <summary>The row's <see cref="OutboxPartition"/>: which instance publishes it, on a shared database.</summary>
    public int PartitionId { get; init; }

    /// <summary>When the commit holding the row became durable, for rows handed over by the writer (<see cref="RelayQueue.Add"/>).</summary>
    public DateTimeOffset? CommittedAt { get; init; }
}

/// <param name="CountsAsAttempt">False for a failure during a broker outage, which never uses up the row's attempts.</param>
internal sealed record PublishFailure(long Sequence, string Error, DateTimeOffset NextAttemptAt, bool Park, bool CountsAsAttempt = true);
