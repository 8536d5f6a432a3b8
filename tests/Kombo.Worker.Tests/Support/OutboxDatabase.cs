using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// A worker database of the test's own (<see cref="TestStorage"/>: a SQLite file or a PostgreSQL database), created by
/// the real migrator, with outbox rows in each state.
/// </summary>
internal sealed class OutboxDatabase : IDisposable
{
    public const string SecretLink = "https://connect.kombo.test/v1?token=secret-link-token";

    private readonly TempDirectory _directory = new();
    private readonly List<IAsyncDisposable> _writers = [];

    public OutboxDatabase(string fileName = "worker.db")
    {
        Path = _directory.File(fileName);
        if (TestStorage.IsPostgreSql)
        {
            Settings = new StorageOptions
            {
                Provider = StorageOptions.PostgreSql,
                ConnectionString = TestStorage.CreatePostgreSqlDatabaseAsync().GetAwaiter().GetResult(),
            };
            var postgres = new PostgreSqlDatabase(Options.Create(Settings));
            using var connection = postgres.DataSource.OpenConnection();
            PostgreSqlSchemaMigrator.MigrateAsync(connection, CancellationToken.None).GetAwaiter().GetResult();
            Database = postgres;
        }
        else
        {
            Settings = new StorageOptions { DatabasePath = Path };
            var sqlite = new SqliteDatabase(Options.Create(Settings), new TestHostEnvironment(_directory.Path));
            sqlite.EnsureCreated();
            using var connection = sqlite.Open();
            SchemaMigrator.Migrate(connection);
            Database = sqlite;
        }
    }

    /// <summary>The SQLite file (only SQLite's own tests open it by its path).</summary>
    public string Path { get; }

    public string Directory => _directory.Path;

    public StorageOptions Settings { get; }

    public IDatabase Database { get; }

    /// <summary>For the tests about SQLite itself.</summary>
    public SqliteDatabase Sqlite => Database as SqliteDatabase
        ?? throw new InvalidOperationException($"A SQLite-only test ran on {Database.GetType().Name}: give it [Trait(\"{TestStorage.Trait}\", \"{TestStorage.SqliteOnly}\")].");

    /// <summary>The provider's writer on this database, stopped with it.</summary>
    /// <param name="connections">PostgreSQL's writer connections; SQLite's writer has one.</param>
    public IDatabaseWriter NewWriter(int connections = 8)
    {
        var options = Options.Create(Settings with { WriterConnections = connections });
        IDatabaseWriter writer = Database switch
        {
            SqliteDatabase sqlite => new SqliteWriter(sqlite, options),
            PostgreSqlDatabase postgres => new PostgreSqlWriter(postgres, options),
            _ => throw new InvalidOperationException($"No writer for {Database.GetType().Name}."),
        };
        _writers.Add((IAsyncDisposable)writer);
        return writer;
    }

    /// <returns>The row's sequence and message id.</returns>
    public (long Sequence, Guid MessageId) Append(DateTimeOffset createdAt, string? orderingKey = null)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = SecretLink, LinkType = "EMBEDDED" };
        var row = new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
        using var connection = Database.Open();
        using var transaction = connection.BeginTransaction();
        var appended = OutboxStore.Append(connection, transaction, [row], createdAt);
        transaction.Commit();
        return (appended[0].Sequence, row.MessageId);
    }

    public void MarkSent(long sequence, DateTimeOffset sentAt) =>
        Execute("UPDATE outbox SET sent_at = @SentAt WHERE sequence = @Sequence", new { Sequence = sequence, SentAt = UnixTime.ToMs(sentAt) });

    public void Park(long sequence, DateTimeOffset parkedAt, string error, int attempts = 10) =>
        Execute("UPDATE outbox SET parked_at = @At, last_error = @Error, attempts = @Attempts, next_attempt_at = @At WHERE sequence = @Sequence",
            new { Sequence = sequence, At = UnixTime.ToMs(parkedAt), Error = error, Attempts = attempts });

    public void Fail(long sequence, string error, DateTimeOffset nextAttemptAt) =>
        Execute("UPDATE outbox SET last_error = @Error, attempts = attempts + 1, next_attempt_at = @Next WHERE sequence = @Sequence",
            new { Sequence = sequence, Error = error, Next = UnixTime.ToMs(nextAttemptAt) });

    public void RecordInbox(int commands)
    {
        using var connection = Database.Open();
        connection.Execute(
            "INSERT INTO inbox (message_id, consumer, correlation_id, outcome, received_at) VALUES (@Id, 'create-connect-link', @Id, 'succeeded', 0)",
            Enumerable.Range(0, commands).Select(_ => new { Id = Guid.NewGuid().ToString() }));
    }

    public T? Scalar<T>(string sql, object? parameters = null)
    {
        using var connection = Database.Open();
        return connection.ExecuteScalar<T>(sql, parameters);
    }

    public void Execute(string sql, object? parameters = null)
    {
        using var connection = Database.Open();
        connection.Execute(sql, parameters);
    }

    public void Dispose()
    {
        foreach (var writer in _writers)
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        if (Database is IAsyncDisposable owned)
        {
            owned.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
