using Kombo.Worker.OutboxTool;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kombo.Worker.Tests.Storage;

[Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
public sealed class DatabaseLockTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_second_worker_on_the_same_database_file_refuses_to_start_until_the_first_one_is_gone()
    {
        var path = _directory.File("data/worker.db");
        await using var first = StorageOf(path);
        await StartAsync(first);
        await using var second = StorageOf(path);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(second));

        Assert.Contains("Another worker is already running on the database", refused.Message, StringComparison.Ordinal);
        Assert.Contains(path, refused.Message, StringComparison.Ordinal);
        await first.DisposeAsync();
        await using var third = StorageOf(path);
        await StartAsync(third);
    }

    [Fact]
    public void The_outbox_tool_works_beside_a_running_worker()
    {
        using var database = new OutboxDatabase();
        using var held = DatabaseLock.Acquire(database.Path);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new OutboxToolContext(output, error, TimeProvider.System)
        {
            LocateSettings = () => throw new FileNotFoundException("No appsettings.json in this test."),
            BusyTimeout = TimeSpan.FromSeconds(2),
        };

        Assert.Equal(0, OutboxToolCommand.Run(["status", "--database", database.Path], context));
        Assert.Equal("", error.ToString());
    }

    private ServiceProvider StorageOf(string databasePath)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:DatabasePath"] = databasePath })
            .Build();
        return new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<IHostEnvironment>(new TestHostEnvironment(_directory.Path))
            .AddStorage(configuration)
            .BuildServiceProvider();
    }

    private static async Task StartAsync(IServiceProvider storage)
    {
        // The schema initializer is the first hosted service: the one that must refuse.
        await storage.GetServices<IHostedService>().First().StartAsync(CancellationToken.None);
    }
}
