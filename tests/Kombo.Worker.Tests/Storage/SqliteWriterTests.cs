using Dapper;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Storage;

[Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
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
        using var gate = HoldWriter(out var held);

        var all = Enumerable.Range(0, writes).Select(i => _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES (@Id, 'c', 'x', 'succeeded', 0)", new { Id = $"m{i}" }, transaction))).ToList();
        gate.Set();
        await held;
        await Task.WhenAll(all);

        // Queued behind one write, 500 writes fit in two commits of up to 256 each.
        Assert.InRange(commits, 2, writes / 2);
        await _writer.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _writer = new SqliteWriter(_database, Options.Create(new StorageOptions()));
        using var reopened = new SqliteConnection($"Data Source={_database.FilePath};Pooling=False");
        reopened.Open();
        Assert.Equal(writes, reopened.ExecuteScalar<int>("SELECT COUNT(*) FROM inbox"));
    }

    [Fact]
    public async Task Failing_write_is_rolled_back_alone_and_the_others_in_its_commit_survive()
    {
        var commits = new List<int>();
        _writer.Committed += commits.Add;
        using var gate = HoldWriter(out var held);

        var first = _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('a', 'c', 'x', 'succeeded', 0)", transaction: transaction));
        var failing = _writer.WriteAsync<int>((connection, transaction) =>
        {
            connection.Execute("INSERT INTO inbox VALUES ('b', 'c', 'x', 'succeeded', 0)", transaction: transaction);
            throw new InvalidOperationException("boom");
        });
        var last = _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('c', 'c', 'x', 'succeeded', 0)", transaction: transaction));
        gate.Set();
        await held;

        await first;
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        await last;
        Assert.Equal([1, 2], commits); // the gate's write, then one commit holding all three
        using var connection = _database.Open();
        Assert.Equal(["a", "c"], connection.Query<string>("SELECT message_id FROM inbox ORDER BY message_id"));
    }

    [Fact]
    public async Task Write_that_rolls_back_the_whole_transaction_fails_its_group_with_its_retryable_error()
    {
        using var gate = HoldWriter(out var held);
        var first = _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('a', 'c', 'x', 'succeeded', 0)", transaction: transaction));
        var outOfMemory = _writer.WriteAsync<int>((connection, transaction) =>
        {
            // What SQLite does on SQLITE_NOMEM or SQLITE_BUSY: the whole transaction is gone.
            connection.Execute("ROLLBACK");
            throw new SqliteException("out of memory", 7);
        });
        var last = _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('c', 'c', 'x', 'succeeded', 0)", transaction: transaction));
        gate.Set();
        await held;

        foreach (var write in new Task[] { first, outOfMemory, last })
        {
            var error = await Assert.ThrowsAsync<SqliteException>(() => write);
            Assert.True(StorageFailures.IsEnvironmental(error), $"{error.SqliteErrorCode}: {error.Message}");
        }

        using var connection = _database.Open();
        Assert.Equal(0, connection.ExecuteScalar<int>("SELECT COUNT(*) FROM inbox"));
        await _writer.WriteAsync((c, t) => c.Execute("INSERT INTO inbox VALUES ('d', 'c', 'x', 'succeeded', 0)", transaction: t));
    }

    [Fact]
    public async Task After_a_failed_commit_the_writer_reopens_on_a_new_native_handle()
    {
        var before = await _writer.WriteAsync((connection, _) => ((SqliteConnection)connection).Handle!);
        await Assert.ThrowsAsync<SqliteException>(() => _writer.WriteAsync<int>((connection, _) =>
        {
            connection.Execute("ROLLBACK");
            throw new SqliteException("out of memory", 7);
        }));

        var after = await _writer.WriteAsync((connection, _) => ((SqliteConnection)connection).Handle!);

        Assert.NotSame(before, after);
        Assert.True(before.IsClosed, "the old handle went back to the pool instead of being closed");
    }

    [Fact]
    public async Task Writes_fail_fast_once_the_writers_loop_has_died()
    {
        using var gate = HoldWriter(out var held);
        var queued = _writer.WriteAsync((connection, transaction) => 1);
        _writer.BreakLoopForTesting(new InvalidOperationException("injected"));
        gate.Set();
        await held;

        await Assert.ThrowsAnyAsync<IOException>(() => queued.WaitAsync(TimeSpan.FromSeconds(10)));
        var cause = await _writer.StoppedAbnormally.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("injected", cause.Message);
        var later = Task.Run(() => _writer.WriteAsync((connection, transaction) => 1));
        await Assert.ThrowsAnyAsync<IOException>(() => later.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_dead_writer_fails_readiness_and_stops_the_worker()
    {
        using var lifetime = new StoppableLifetime();
        var watchdog = new DatabaseWriterWatchdog(_writer, NullLogger<DatabaseWriterWatchdog>.Instance, lifetime);
        await watchdog.StartAsync(CancellationToken.None);
        var check = new DatabaseWritableCheck(_database, _writer, TimeProvider.System);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration(DatabaseWritableCheck.Name, check, HealthStatus.Unhealthy, null) };

        _writer.BreakLoopForTesting(new InvalidOperationException("injected"));

        await lifetime.StopRequested.WaitAsync(TimeSpan.FromSeconds(10));
        var result = await check.CheckHealthAsync(context).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        await watchdog.StopAsync(CancellationToken.None);
    }

    /// <summary>Blocks the writer thread in a write of its own until the gate opens, so the writes queued meanwhile share the next commit.</summary>
    private ManualResetEventSlim HoldWriter(out Task held)
    {
        var gate = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        held = _writer.WriteAsync((_, _) =>
        {
            started.Set();
            return gate.Wait(TimeSpan.FromSeconds(30));
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)), "the writer took the gate's write");
        return gate;
    }

    [Fact]
    public async Task Checkpoint_runs_between_commits()
    {
        await _writer.WriteAsync((connection, transaction) =>
            connection.Execute("INSERT INTO inbox VALUES ('a', 'c', 'x', 'succeeded', 0)", transaction: transaction));

        await _writer.CheckpointAsync();
    }
}

internal sealed class StoppableLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task StopRequested => _stopRequested.Task;

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => _stopRequested.TrySetResult();

    public void Dispose() => _stopping.Dispose();
}
