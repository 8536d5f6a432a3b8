using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Storage;

internal sealed record StorageOptions
{
    public const string SectionName = "Storage";

    public const string Sqlite = "Sqlite";
    public const string PostgreSql = "PostgreSql";

    /// <summary>
    /// <c>Sqlite</c> (default): one file that belongs to one worker instance. <c>PostgreSql</c>: a database that several
    /// instances share, at <see cref="ConnectionString"/>.
    /// </summary>
    [RegularExpression("^(Sqlite|PostgreSql)$", ErrorMessage = "Storage:Provider must be Sqlite or PostgreSql.")]
    public string Provider { get; init; } = Sqlite;

    /// <summary>
    /// With <c>PostgreSql</c>: an Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>), best set
    /// through the environment (<c>Storage__ConnectionString</c>) so the password stays out of files.
    /// </summary>
    public string? ConnectionString { get; init; }

    /// <summary>With <c>PostgreSql</c>: how many connections (each on a thread of its own) run the writes.</summary>
    [Range(1, 64)]
    public int WriterConnections { get; init; } = 8;

    public bool IsPostgreSql => Provider == PostgreSql;

    /// <summary>The SQLite file; relative paths are resolved against the directory of appsettings.json.</summary>
    [Required]
    public string DatabasePath { get; init; } = "data/kombo-worker.db";

    /// <summary>
    /// <c>FULL</c> (default) makes every acknowledged command survive power loss; <c>NORMAL</c> is faster and can lose
    /// the last commits on power loss (never on a process crash). The relay may already have published those commits'
    /// events, and they stay published: with <c>NORMAL</c> a power loss can leave ghost events for work that is gone.
    /// </summary>
    [RegularExpression("^(FULL|NORMAL)$", ErrorMessage = "Storage:Synchronous must be FULL or NORMAL.")]
    public string Synchronous { get; init; } = "FULL";

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many queued write transactions may share one commit (one fsync).</summary>
    [Range(1, 10_000)]
    public int MaxWritesPerCommit { get; init; } = 256;
}
