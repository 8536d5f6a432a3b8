using Kombo.Testing;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// The store the harness and the store and relay tests run on: SQLite, or PostgreSQL when
/// <c>KOMBO_TEST_STORAGE=PostgreSql</c> (scripts/test.sh runs this project a second time so). On PostgreSQL every test
/// gets a fresh database of one private server, started once per test process; it fails every test loudly when it
/// cannot start. Tests about SQLite itself carry <c>[Trait(TestStorage.Trait, TestStorage.SqliteOnly)]</c> and are
/// left out of the PostgreSQL run.
/// </summary>
internal static class TestStorage
{
    public const string Variable = "KOMBO_TEST_STORAGE";

    public const string Trait = "Storage";

    public const string SqliteOnly = "Sqlite";

    private static readonly Lazy<Task<PostgresNode>> Server = new(StartServerAsync);

    public static bool IsPostgreSql { get; } = Environment.GetEnvironmentVariable(Variable) switch
    {
        null or "" or StorageOptions.Sqlite => false,
        StorageOptions.PostgreSql => true,
        var other => throw new InvalidOperationException($"{Variable} must be {StorageOptions.Sqlite} or {StorageOptions.PostgreSql}, not '{other}'."),
    };

    /// <summary>The Storage settings of a worker on a new database: a SQLite file in <paramref name="directory"/>, or a PostgreSQL database.</summary>
    public static async Task<Dictionary<string, string?>> SettingsAsync(TempDirectory directory) => IsPostgreSql
        ? new()
        {
            ["Storage:Provider"] = StorageOptions.PostgreSql,
            ["Storage:ConnectionString"] = await CreatePostgreSqlDatabaseAsync(),
        }
        : new() { ["Storage:DatabasePath"] = directory.File("worker.db") };

    /// <returns>The connection string of a new, empty database on the test process's PostgreSQL server.</returns>
    public static async Task<string> CreatePostgreSqlDatabaseAsync() => await (await Server.Value).CreateDatabaseAsync();

    private static async Task<PostgresNode> StartServerAsync()
    {
        var node = await PostgresNode.StartNewAsync();
        // PostgresNode's watchdog stops the server should this process die instead.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => node.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return node;
    }
}
