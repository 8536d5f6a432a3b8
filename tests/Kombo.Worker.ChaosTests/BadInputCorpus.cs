using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Kombo.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// One malformed message of <c>corpus/bad-input.jsonl</c>: where it goes, how it looks on the wire and what the
/// worker must do with it. <see cref="Expect"/> is a failure reason such as <c>invalid_request</c> (answered with a
/// failure event carrying it) or <c>error_queue</c> (moved to <c>&lt;queue&gt;_error</c> with MassTransit's fault headers).
/// </summary>
/// <remarks>
/// Bodies and header values may hold <c>&lt;&lt;correlationId&gt;&gt;</c> and <c>&lt;&lt;messageId&gt;&gt;</c> (fresh per
/// publish) and <c>&lt;&lt;repeat:N:TEXT&gt;&gt;</c> (TEXT N times), so a 16 MiB body costs the repository one line.
/// <see cref="MessageId"/> is <c>auto</c> (a fresh uuid), null (no message id at all) or a literal.
/// </remarks>
public sealed partial record BadInputCase
{
    public const string ErrorQueue = "error_queue";

    public required string Name { get; init; }

    public required string Queue { get; init; }

    public string? ContentType { get; init; }

    public string? MessageId { get; init; } = "auto";

    public Dictionary<string, string> Headers { get; init; } = [];

    public string? Body { get; init; }

    public string? BodyBase64 { get; init; }

    public required string Expect { get; init; }

    public string Why { get; init; } = "";

    public override string ToString() => Name;

    /// <summary>The wire form of this case with fresh ids.</summary>
    public BadInputMessage Instantiate(string label)
    {
        var correlationId = Guid.NewGuid();
        var messageId = Guid.NewGuid();
        var body = BodyBase64 is not null
            ? Convert.FromBase64String(BodyBase64)
            : Encoding.UTF8.GetBytes(Expand(Body ?? "", correlationId, messageId));
        var properties = new BasicProperties
        {
            ContentType = ContentType,
            MessageId = MessageId switch
            {
                null => null,
                "auto" => messageId.ToString(),
                var literal => literal,
            },
            Headers = new Dictionary<string, object?> { [BadInputMessage.CaseHeader] = label },
        };
        foreach (var (name, value) in Headers)
        {
            properties.Headers[name] = Expand(value, correlationId, messageId);
        }

        var usesCorrelationId = (Body ?? "").Contains("<<correlationId>>", StringComparison.Ordinal);
        return new BadInputMessage(this, label, usesCorrelationId ? correlationId : Guid.Empty,
            MessageId == "auto" ? messageId : null, body, properties);
    }

    private static string Expand(string template, Guid correlationId, Guid messageId) =>
        Placeholder().Replace(template, match => match.Groups["name"].Value switch
        {
            "correlationId" => correlationId.ToString(),
            "messageId" => messageId.ToString(),
            _ => string.Concat(Enumerable.Repeat(match.Groups["text"].Value, int.Parse(match.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture))),
        });

    [GeneratedRegex("<<(?:(?<name>correlationId|messageId)|(?<name>repeat):(?<count>[0-9]+):(?<text>.*?))>>", RegexOptions.Singleline)]
    private static partial Regex Placeholder();
}

/// <summary>A corpus case ready to publish: the ids it was given and the bytes and properties that go on the wire.</summary>
public sealed record BadInputMessage(
    BadInputCase Case, string Label, Guid CorrelationId, Guid? MessageId, byte[] Body, BasicProperties Properties)
{
    /// <summary>Our own header: MassTransit keeps transport headers when it moves a message to the error queue.</summary>
    public const string CaseHeader = "x-chaos-case";
}

public static class BadInputCorpus
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static string File => Path.Combine(BuildPaths.RepositoryRoot, "tests", "Kombo.Worker.ChaosTests", "corpus", "bad-input.jsonl");

    public static IReadOnlyList<BadInputCase> Load() =>
        System.IO.File.ReadLines(File)
            .Where(line => line.Trim().Length > 0)
            .Select(line => JsonSerializer.Deserialize<BadInputCase>(line, Options)
                ?? throw new InvalidDataException($"{File}: a line holds null."))
            .ToList();
}
