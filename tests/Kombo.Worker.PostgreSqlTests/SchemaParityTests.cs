using Dapper;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kombo.Worker.PostgreSqlTests;

/// <summary>
/// Both dialects' migrations, applied to empty databases, end in the same schema: a column, key or index added to one
/// and not to the other fails here.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SchemaParityTests(PostgresFixture postgres) : IAsyncLifetime
{
    private readonly string _sqliteFile = Path.Combine(Path.GetTempPath(), $"kombo-parity-{Guid.NewGuid():N}.db");
    private SqliteConnection _sqlite = null!;
    private NpgsqlConnection _postgres = null!;

    public async Task InitializeAsync()
    {
        _sqlite = new SqliteConnection("Data Source=" + _sqliteFile);
        _sqlite.Open();
        SchemaMigrator.Migrate(_sqlite);

        _postgres = new NpgsqlConnection(await postgres.Node.CreateDatabaseAsync());
        await _postgres.OpenAsync();
        await PostgreSqlSchemaMigrator.MigrateAsync(_postgres, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        _sqlite.Dispose();
        SqliteConnection.ClearAllPools();
        File.Delete(_sqliteFile);
    }

    [Fact]
    public async Task Both_dialects_have_the_same_tables_and_columns_with_the_same_nullability_and_kind()
    {
        // A primary-key column is never null in either: WITHOUT ROWID tables and SQLite's rowid alias enforce it.
        var sqlite = _sqlite.Query<(string Table, string Column, string Type, long NotNull, long Pk)>("""
                SELECT m.name, p.name, p.type, p."notnull", p.pk
                FROM sqlite_master m JOIN pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                """)
            .Select(c => $"{c.Table}.{c.Column} {c.Type} {(c.NotNull == 0 && c.Pk == 0 ? "NULL" : "NOT NULL")}")
            .Order(StringComparer.Ordinal)
            .ToList();

        var postgreSql = (await _postgres.QueryAsync<(string Table, string Column, string Type, string IsNullable)>("""
                SELECT table_name, column_name, data_type, is_nullable
                FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name <> 'schema_version'
                """))
            .Select(c => $"{c.Table}.{c.Column} {SqliteKindOf(c.Type)} {(c.IsNullable == "YES" ? "NULL" : "NOT NULL")}")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(sqlite);
        Assert.Equal(sqlite, postgreSql);
    }

    [Fact]
    public async Task Both_dialects_have_the_same_primary_keys()
    {
        var sqlite = _sqlite.Query<(string Table, string Column, long Position)>("""
                SELECT m.name, p.name, p.pk
                FROM sqlite_master m JOIN pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.pk > 0
                """)
            .Select(k => $"{k.Table}: {k.Position} {k.Column}")
            .Order(StringComparer.Ordinal)
            .ToList();

        var postgreSql = (await _postgres.QueryAsync<(string Table, string Column, int Position)>("""
                SELECT k.table_name, k.column_name, k.ordinal_position
                FROM information_schema.table_constraints c
                JOIN information_schema.key_column_usage k
                  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
                WHERE c.table_schema = 'public' AND c.constraint_type = 'PRIMARY KEY' AND c.table_name <> 'schema_version'
                """))
            .Select(k => $"{k.Table}: {k.Position} {k.Column}")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(sqlite);
        Assert.Equal(sqlite, postgreSql);
    }

    [Fact]
    public async Task Both_dialects_have_the_same_indexes_on_the_same_columns_and_rows()
    {
        // The partial indexes' WHERE, lower-cased and without spaces or parentheses, which PostgreSQL adds.
        var sqlite = _sqlite.Query<(string Name, string Table, string Sql)>(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
            .Select(i => $"{i.Table}.{i.Name} ({string.Join(", ", IndexColumns(i.Name))}){Predicate(i.Sql)}")
            .Order(StringComparer.Ordinal)
            .ToList();

        var postgreSql = (await _postgres.QueryAsync<(string Name, string Table, string Columns, string? Predicate)>("""
                SELECT i.relname, t.relname,
                       (SELECT string_agg(a.attname, ', ' ORDER BY k.ordinality)
                        FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ordinality)
                        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum),
                       pg_get_expr(x.indpred, x.indrelid)
                FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid
                JOIN pg_namespace n ON n.oid = t.relnamespace
                WHERE n.nspname = 'public' AND NOT x.indisprimary
                """))
            .Select(i => $"{i.Table}.{i.Name} ({i.Columns}){(i.Predicate is null ? "" : " where " + Normalize(i.Predicate))}")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(sqlite);
        Assert.Equal(sqlite, postgreSql);
    }

    private IEnumerable<string> IndexColumns(string index) =>
        _sqlite.Query<string>("SELECT name FROM pragma_index_info(@Index) ORDER BY seqno", new { Index = index });

    private static string Predicate(string createIndexSql)
    {
        var where = createIndexSql.IndexOf(" WHERE ", StringComparison.OrdinalIgnoreCase);
        return where < 0 ? "" : " where " + Normalize(createIndexSql[(where + " WHERE ".Length)..]);
    }

    private static string Normalize(string predicate) =>
        new([.. predicate.ToLowerInvariant().Where(c => !char.IsWhiteSpace(c) && c is not '(' and not ')')]);

    // What each PostgreSQL type stands for in the SQLite scripts.
    private static string SqliteKindOf(string postgreSqlType) => postgreSqlType switch
    {
        "text" => "TEXT",
        "bigint" or "integer" or "boolean" => "INTEGER",
        "bytea" => "BLOB",
        _ => postgreSqlType,
    };
}
