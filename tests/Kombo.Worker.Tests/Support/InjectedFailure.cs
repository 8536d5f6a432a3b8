using Dapper;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Tests.Support;

/// <summary>A trigger that makes one kind of write fail, in the dialect of the database, until it is removed.</summary>
internal sealed class InjectedFailure
{
    private readonly IDatabase _database;
    private readonly string _name;
    private readonly string _table;

    private InjectedFailure(IDatabase database, string name, string table)
    {
        _database = database;
        _name = name;
        _table = table;
    }

    /// <param name="when">When the trigger fires, as both dialects write it: <c>BEFORE INSERT</c>, <c>BEFORE UPDATE OF sent_at</c>.</param>
    /// <param name="sqlState">
    /// PostgreSQL's error code (default P0001, raise_exception, which no retry treats as the environment's). SQLite's
    /// trigger always fails with SQLITE_CONSTRAINT.
    /// </param>
    public static InjectedFailure Add(IDatabase database, string name, string when, string table, string message, string sqlState = "P0001")
    {
        using var connection = database.Open();
        connection.Execute(database is SqliteDatabase
            ? $"CREATE TRIGGER {name} {when} ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            : $"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = '{sqlState}'; END $$;
                CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();
                """);
        return new InjectedFailure(database, name, table);
    }

    public void Remove()
    {
        using var connection = _database.Open();
        connection.Execute(_database is SqliteDatabase
            ? $"DROP TRIGGER {_name}"
            : $"DROP TRIGGER {_name} ON {_table}; DROP FUNCTION {_name}();");
    }
}
