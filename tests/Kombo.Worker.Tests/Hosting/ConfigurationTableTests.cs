using System.Reflection;
using System.Text.RegularExpressions;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;

namespace Kombo.Worker.Tests.Hosting;

/// <summary>The README's configuration table names every setting the options classes bind, and nothing else.</summary>
public sealed partial class ConfigurationTableTests
{
    private static readonly Type[] Sections =
    [
        typeof(KomboOptions), typeof(RabbitMqOptions), typeof(MessagingOptions), typeof(StorageOptions), typeof(OutboxOptions),
        typeof(HealthOptions), typeof(WebhookOptions), typeof(OpenTelemetryOptions), typeof(RetentionOptions),
    ];

    [Fact]
    public void Every_setting_is_in_the_readme_and_every_key_there_exists()
    {
        var bound = Sections.SelectMany(Keys).Append("Urls").ToHashSet(StringComparer.Ordinal);
        var documented = DocumentedKeys().ToHashSet(StringComparer.Ordinal);

        Assert.True(bound.SetEquals(documented),
            $"settings missing from the README: {string.Join(", ", bound.Except(documented).Order())}; " +
            $"README keys that bind to nothing: {string.Join(", ", documented.Except(bound).Order())}");
    }

    private static IEnumerable<string> Keys(Type options)
    {
        var section = (string)options.GetField("SectionName")!.GetValue(null)!;
        return options.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            .Select(p => $"{section}:{p.Name}");
    }

    // Rows look like: | `Kombo:AttemptTimeout` / `TotalTimeout` | default | meaning |
    private static IEnumerable<string> DocumentedKeys()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md"));
        var start = readme.IndexOf("\n## Configuration\n", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        foreach (var line in readme[start..end].Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var cell = line.Split('|')[1];
            string? section = null;
            foreach (Match key in KeyInCell().Matches(cell))
            {
                var name = key.Groups["key"].Value;
                if (name.Contains(':', StringComparison.Ordinal))
                {
                    section = name[..name.IndexOf(':', StringComparison.Ordinal)];
                    yield return name;
                }
                else
                {
                    yield return section is null ? name : $"{section}:{name}";
                }
            }
        }
    }

    [GeneratedRegex("`(?<key>[A-Za-z][A-Za-z0-9]*(:[A-Za-z][A-Za-z0-9]*)?)`")]
    private static partial Regex KeyInCell();
}
