using Dapper;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Tests.Storage;

[Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
public sealed class MigrationTests
{
    [Fact]
    public void Every_migration_has_a_version_of_its_own()
    {
        var versions = typeof(SchemaMigrator).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith("Migrations/", StringComparison.Ordinal))
            .Select(name => name["Migrations/".Length..].Split('_')[0])
            .ToList();

        Assert.Equal(versions.Count, versions.Distinct().Count());
        // No gaps either: a database migrated past a missing number would never get that script.
        Assert.Equal(versions.Count, SchemaMigrator.LatestVersion);
    }

    [Fact]
    public void Database_of_the_first_version_keeps_its_integrations_and_redemptions_through_the_lifecycle_migration()
    {
        using var directory = new TempDirectory();
        using var connection = new SqliteConnection("Data Source=" + directory.File("v1.db"));
        connection.Open();
        connection.Execute("PRAGMA foreign_keys = ON;");
        using (var stream = typeof(SchemaMigrator).Assembly.GetManifestResourceStream("Migrations/001_initial.sql")!)
        {
            connection.Execute(new StreamReader(stream).ReadToEnd() + "\nPRAGMA user_version = 1;");
        }

        connection.Execute("""
            INSERT INTO integrations VALUES ('personio:1', 'personio', 'customer-1', 'Acme', NULL, 'COMPLETED', 1000, 1000);
            INSERT INTO token_redemptions VALUES ('hash-1', 'personio:1', 'event-1', 1000);
            """);

        Assert.Equal(SchemaMigrator.LatestVersion, SchemaMigrator.Migrate(connection));

        Assert.Equal("COMPLETED", connection.ExecuteScalar<string>("SELECT setup_status FROM integrations WHERE integration_id = 'personio:1'"));
        Assert.Null(connection.ExecuteScalar<string?>("SELECT deleted_at FROM integrations WHERE integration_id = 'personio:1'"));
        Assert.Equal("personio:1", connection.ExecuteScalar<string>("SELECT integration_id FROM token_redemptions WHERE token_hash = 'hash-1'"));
        Assert.Empty(connection.Query("PRAGMA foreign_key_check"));
        // The rebuilt redemptions still refer to the integrations table by name.
        Assert.Throws<SqliteException>(() => connection.Execute("INSERT INTO token_redemptions VALUES ('hash-2', 'nobody:1', 'event-2', 1000)"));
    }
}
