using Dapper;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Storage;

[Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData("FULL", 2)]
    [InlineData("NORMAL", 1)]
    public void Every_connection_carries_the_pragmas_also_when_it_comes_from_the_pool(string synchronous, long expected)
    {
        var database = new SqliteDatabase(
            Options.Create(new StorageOptions { DatabasePath = _directory.File($"{synchronous}.db"), Synchronous = synchronous }),
            new TestHostEnvironment(_directory.Path));
        database.EnsureCreated();

        for (var open = 0; open < 3; open++)
        {
            using var connection = database.Open();
            Assert.Equal(expected, connection.ExecuteScalar<long>("PRAGMA synchronous"));
            Assert.Equal(1, connection.ExecuteScalar<long>("PRAGMA foreign_keys"));
            Assert.Equal(10_000, connection.ExecuteScalar<long>("PRAGMA busy_timeout"));
        }

        SqliteConnection.ClearAllPools();
        using var fresh = database.Open();
        Assert.Equal(expected, fresh.ExecuteScalar<long>("PRAGMA synchronous"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
