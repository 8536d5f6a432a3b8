using Dapper;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Storage;

public sealed class SqliteWriterTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private SqliteDatabase _database = null!;
    private SqliteWriter _writer = null!;

    public Task InitializeAsync()
    {
        var options = Options.Create(new StorageOptions { DatabasePath = _directory.File("writer.db") });
        _database = new SqliteDatabase(options, new TestHostEnvironment(_directory.Path));
        _database.EnsureCreated();
        using (var connection = _database.Open())
        {
            SchemaMigrator.Migrate(connection);
        }

        _writer = new SqliteWriter(_database, options);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public void Database_is_in_wal_mode_at_the_latest_schema_version()
    {
        using var connection = _database.Open();
        Assert.Equal("wal", connection.ExecuteScalar<string>("PRAGMA journal_mode"));
        Assert.Equal(SchemaMigrator.LatestVersion, connection.ExecuteScalar<int>("PRAGMA user_version"));
        Assert.Equal(2, connection.ExecuteScalar<int>("PRAGMA synchronous"));
        Assert.True(SchemaMigrator.LatestVersion >= 1);
    }

    [Fact]
    public void Migrating_twice_changes_nothing()
    {
        using var connection = _database.Open();
        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(connection));
    }

    [Fact]
    public async Task Concurrent_writes_share_commits_and_all_become_durable()
    {
        var commits = 0;
        _writer.Committed += _ => Interlocked.Increment(ref commits);
        const int writes = 500;

        await Task.WhenAll(Enumerable.Range(0, writes).Select(i => Task.Run(() => _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES (@Id, 'c', 'x', 'succeeded', 0)", new { Id = $"m{i}" }, transaction)))));

        using var connection = _database.Open();
        Assert.Equal(writes, connection.ExecuteScalar<int>("SELECT COUNT(*) FROM inbox"));
        Assert.InRange(commits, 1, writes);
    }

    [Fact]
    public async Task Failing_write_is_rolled_back_alone_and_the_others_in_its_commit_survive()
    {
        var first = _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('a', 'c', 'x', 'succeeded', 0)", transaction: transaction));
        var failing = _writer.WriteAsync<int>((connection, transaction) =>
        {
            connection.Execute("INSERT INTO inbox VALUES ('b', 'c', 'x', 'succeeded', 0)", transaction: transaction);
            throw new InvalidOperationException("boom");
        });
        var last = _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('c', 'c', 'x', 'succeeded', 0)", transaction: transaction));

        await first;
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        await last;
        using var connection = _database.Open();
        Assert.Equal(["a", "c"], connection.Query<string>("SELECT message_id FROM inbox ORDER BY message_id"));
    }

    [Fact]
    public async Task Checkpoint_runs_between_commits()
    {
        await _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('a', 'c', 'x', 'succeeded', 0)", transaction: transaction));

        await _writer.CheckpointAsync();
    }
}
