namespace Kombo.Testing;

/// <summary>Points a <see cref="WorkerProcess"/> at a PostgreSQL database instead of its own SQLite file.</summary>
public static class PostgreSqlWorkerOptions
{
    /// <summary>Sets <c>Storage__Provider=PostgreSql</c> and <c>Storage__ConnectionString</c>.</summary>
    /// <param name="connectionString">A database of its own, e.g. from <see cref="PostgresNode.CreateDatabaseAsync"/>.</param>
    public static WorkerProcessOptions UsePostgreSql(this WorkerProcessOptions options, string connectionString)
    {
        options.Environment["Storage__Provider"] = "PostgreSql";
        options.Environment["Storage__ConnectionString"] = connectionString;
        return options;
    }
}
