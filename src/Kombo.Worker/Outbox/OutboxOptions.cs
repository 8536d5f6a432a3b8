using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Outbox;

internal sealed record OutboxOptions
{
    public const string SectionName = "Outbox";

    /// <summary>Rows read and published (pipelined) per relay round.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; init; } = 500;

    /// <summary>
    /// Publishes in flight at once. Rows of one end user always share a lane and keep their commit order; 1 keeps the
    /// commit order of every row, at the cost of one broker round trip per row.
    /// </summary>
    [Range(1, 256)]
    public int PublishLanes { get; init; } = 64;

    /// <summary>
    /// How often the relay sweeps the outbox table for rows the in-memory handover does not bring (back-offs that came
    /// due, rows replayed by an operator); committed rows themselves go out at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Publish attempts before a row is parked for an operator.</summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; init; } = 10;

    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a sent row (whose body may hold a link) is kept before cleanup deletes it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan SentRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The dedupe window: longer than any redelivery path.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan InboxRetention { get; init; } = TimeSpan.FromDays(7);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; init; } = TimeSpan.FromMinutes(1);

    [Range(1, 100_000)]
    public int CleanupBatchSize { get; init; } = 1000;

    /// <summary>
    /// BENCHMARK ONLY, never a production setting (off by default). When on, a consumer publishes its events straight
    /// to the broker after its business commit instead of writing them to the outbox, so the benchmark can measure
    /// what the outbox costs. It drops the outbox's guarantees: a crash between the commit and the publish loses the
    /// event, and a failed publish is not retried from the database. The worker logs a warning at start-up when on.
    /// </summary>
    public bool BypassForBenchmark { get; init; }
}
