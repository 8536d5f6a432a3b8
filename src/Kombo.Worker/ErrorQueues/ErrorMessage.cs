using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using RabbitMQ.Client;

namespace Kombo.Worker.ErrorQueues;

/// <summary>One message in a command's <c>_error</c> queue, as the operator sees it: never with its token or link.</summary>
internal sealed record ErrorMessage(
    string Queue,
    string MessageId,
    string Reason,
    string? ExceptionType,
    string? FaultedAt,
    IReadOnlyDictionary<string, string> FaultHeaders,
    JsonNode? Body,
    int BodyBytes,
    string? BodyProblem)
{
    /// <summary>The headers MassTransit adds when it moves a message to the error queue.</summary>
    public static bool IsFaultHeader(string name) =>
        name.StartsWith("MT-Fault-", StringComparison.Ordinal) || name.StartsWith("MT-Host-", StringComparison.Ordinal) || name == "MT-Reason";

    public static ErrorMessage From(string queue, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        var faults = (properties.Headers ?? new Dictionary<string, object?>())
            .Where(h => IsFaultHeader(h.Key) && h.Key != "MT-Fault-StackTrace")
            .ToDictionary(h => h.Key, h => HeaderText(h.Value), StringComparer.Ordinal);
        var shown = ErrorMessageBody.Read(body);
        return new ErrorMessage(
            queue,
            IdOf(properties, body.Span),
            faults.GetValueOrDefault("MT-Fault-Message") ?? faults.GetValueOrDefault("MT-Reason") ?? "(no fault reason recorded)",
            faults.GetValueOrDefault("MT-Fault-ExceptionType"),
            faults.GetValueOrDefault("MT-Fault-Timestamp"),
            faults,
            shown.Shown,
            body.Length,
            shown.Problem);
    }

    /// <summary>The AMQP message id, or for a message sent without one a stable id made from its body.</summary>
    public static string IdOf(IReadOnlyBasicProperties properties, ReadOnlySpan<byte> body) =>
        properties.MessageId is { Length: > 0 } id ? id : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body))[..16];

    private static string HeaderText(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        null => "",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
