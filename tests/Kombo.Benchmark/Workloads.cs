using System.Text.Json;
using Kombo.Contracts;

namespace Kombo.Benchmark;

/// <summary>What each workload sends, where, and which events answer it.</summary>
public sealed record Workload(string Name, string Queue, string CommandType, string EventType, string FailureType)
{
    public static readonly Workload W1 = new("W1", "create-connect-link", nameof(CreateConnectLink), nameof(LinkCreated), nameof(ConnectLinkFailed));

    public static readonly Workload W2 = new("W2", "redeem-connect-token", nameof(RedeemConnectToken), nameof(IntegrationConnected), nameof(ConnectTokenRedemptionFailed));

    public static Workload Of(string name) => name == "W2" ? W2 : W1;
}

/// <summary>
/// Command bodies as a .NET publisher's MassTransit sends them: the JSON envelope with the command under
/// <c>message</c>, its own message id and correlation id.
/// </summary>
public static class CommandBodies
{
    public const string ContentType = "application/vnd.masstransit+json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static byte[] CreateConnectLink(Guid messageId, Guid correlationId, int i, Uri destination) =>
        Envelope(messageId, correlationId, nameof(CreateConnectLink), destination, new CreateConnectLink
        {
            CorrelationId = correlationId,
            EndUserEmail = $"admin{i}@customer{i}.test",
            EndUserOrganizationName = $"Customer {i}",
            EndUserOriginId = $"bench-customer-{i}",
            IntegrationCategory = "HRIS",
            IntegrationTool = "personio",
            Language = "en",
        });

    public static byte[] RedeemConnectToken(Guid messageId, Guid correlationId, string token, string? originId, Uri destination) =>
        Envelope(messageId, correlationId, nameof(RedeemConnectToken), destination, new RedeemConnectToken
        {
            CorrelationId = correlationId,
            Token = token,
            ExpectedEndUserOriginId = originId,
        });

    private static byte[] Envelope<T>(Guid messageId, Guid correlationId, string type, Uri destination, T message) =>
        JsonSerializer.SerializeToUtf8Bytes(new
        {
            messageId,
            correlationId,
            conversationId = messageId,
            destinationAddress = destination,
            messageType = new[] { $"urn:message:Kombo.Contracts:{type}" },
            message,
            sentTime = TimeProvider.System.GetUtcNow(),
            headers = new { },
        }, Json);
}
