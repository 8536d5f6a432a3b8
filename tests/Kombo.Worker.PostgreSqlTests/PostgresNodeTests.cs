using Dapper;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

[Collection(PostgresCollection.Name)]
public sealed class PostgresNodeTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Server_answers_on_a_database_of_the_tests_own_with_fsync_on()
    {
        var connectionString = await postgres.Node.CreateDatabaseAsync();

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        Assert.Equal(new NpgsqlConnectionStringBuilder(connectionString).Database, await connection.ExecuteScalarAsync<string>("SELECT current_database()"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
        Assert.Equal("on", await connection.ExecuteScalarAsync<string>("SHOW fsync"));
        Assert.Equal("127.0.0.1", await connection.ExecuteScalarAsync<string>("SHOW listen_addresses"));
    }

    [Fact]
    public async Task Each_database_handed_out_is_a_new_one()
    {
        var first = new NpgsqlConnectionStringBuilder(await postgres.Node.CreateDatabaseAsync()).Database;
        var second = new NpgsqlConnectionStringBuilder(await postgres.Node.CreateDatabaseAsync()).Database;

        Assert.NotEqual(first, second);
    }
}
