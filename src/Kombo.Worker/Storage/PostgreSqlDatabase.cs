using System.Data.Common;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kombo.Worker.Storage;

/// <summary>The one place that knows how connections to a shared PostgreSQL database are made (Npgsql's pool).</summary>
internal sealed class PostgreSqlDatabase : IDatabase, IDisposable, IAsyncDisposable
{
    public PostgreSqlDatabase(IOptions<StorageOptions> options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString)
        {
            // Each worker session says who it is in pg_stat_activity; the password never leaves this builder.
            ApplicationName = "kombo-worker",
        };
        DataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        Name = $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    public NpgsqlDataSource DataSource { get; }

    public string Name { get; }

    public bool IsShared => true;

    public DbConnection Open() => DataSource.OpenConnection();

    public void Dispose() => DataSource.Dispose();

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
