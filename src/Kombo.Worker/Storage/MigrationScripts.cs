using System.Globalization;
using System.Reflection;

namespace Kombo.Worker.Storage;

internal sealed record MigrationScript(int Version, string Name, string Sql);

/// <summary>
/// The numbered scripts of one dialect, embedded under a resource prefix (<c>Migrations/</c> for SQLite,
/// <c>PostgreSql/Migrations/</c> for PostgreSQL), in version order.
/// </summary>
internal static class MigrationScripts
{
    public const string Sqlite = "Migrations/";
    public const string PostgreSql = "PostgreSql/Migrations/";

    public static IReadOnlyList<MigrationScript> Load(string prefix)
    {
        var assembly = typeof(MigrationScripts).Assembly;
        return Order(assembly.GetManifestResourceNames(), prefix)
            .Select(s => new MigrationScript(s.Version, s.Name, Read(assembly, s.Name)))
            .ToList();
    }

    /// <summary>The resources under <paramref name="prefix"/> with their versions, checked to run 1, 2, ... N.</summary>
    public static IReadOnlyList<(int Version, string Name)> Order(IEnumerable<string> resourceNames, string prefix)
    {
        var scripts = resourceNames
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => (Version: int.Parse(name[prefix.Length..].Split('_')[0], CultureInfo.InvariantCulture), Name: name))
            .OrderBy(s => s.Version)
            .ToList();

        // Two scripts of one version would leave the second unapplied on every database: refuse to start instead.
        if (scripts.GroupBy(s => s.Version).FirstOrDefault(g => g.Count() > 1) is { } clash)
        {
            throw new InvalidOperationException($"Two migrations share version {clash.Key}: {string.Join(", ", clash.Select(s => s.Name))}.");
        }

        // A database migrated past a missing number would never get that script once it is added.
        for (var index = 0; index < scripts.Count; index++)
        {
            if (scripts[index].Version != index + 1)
            {
                throw new InvalidOperationException(
                    $"The migrations under {prefix} skip version {index + 1}: the next one is {scripts[index].Name}.");
            }
        }

        return scripts;
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
