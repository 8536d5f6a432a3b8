using Dapper;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Support;

/// <summary>A worker database of the test's own, created by the real migrator, with outbox rows in each state.</summary>
internal sealed class OutboxDatabase : IDisposable
{
    public const string SecretLink = "https://connect.kombo.test/v1?token=secret-link-token";

    private readonly TempDirectory _directory = new();

    public OutboxDatabase(string fileName = "worker.db")
    {
        Path = _directory.File(fileName);
        Database = new SqliteDatabase(Options.Create(new StorageOptions { DatabasePath = Path }), new TestHostEnvironment(_directory.Path));
        Database.EnsureCreated();
        using var connection = Database.Open();
        SchemaMigrator.Migrate(connection);
    }

    public string Path { get; }

    public string Directory => _directory.Path;

    public SqliteDatabase Database { get; }

    /// <returns>The row's sequence and message id.</returns>
    public (long Sequence, Guid MessageId) Append(DateTimeOffset createdAt, string? orderingKey = null)
    {
        var correlationId = NewId.NextGuid();
        var message = new LinkCreated { CorrelationId = correlationId, Link = SecretLink, LinkType = "EMBEDDED" };
        var row = new OutgoingMessage(NewId.NextGuid(), nameof(LinkCreated), OutboxMessageTypes.Serialize(message),
            correlationId, null, null, null, null, orderingKey);
        using var connection = Database.Open();
        using var transaction = connection.BeginTransaction();
        OutboxStore.Append(connection, transaction, [row], createdAt);
        var sequence = connection.ExecuteScalar<long>("SELECT last_insert_rowid()", transaction: transaction);
        transaction.Commit();
        return (sequence, row.MessageId);
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
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
