using System.Text.Json;
using Kombo.Contracts;

namespace Kombo.Worker.Outbox;

/// <summary>The closed set of messages the outbox carries, by the stable name stored in each row.</summary>
internal static class OutboxMessageTypes
{
    private static readonly Dictionary<string, Type> ByName = new[]
    {
        typeof(LinkCreated),
        typeof(ConnectLinkFailed),
        typeof(IntegrationConnected),
        typeof(ConnectTokenRedemptionFailed),
        typeof(ReconnectionLinkCreated),
        typeof(ReconnectionLinkFailed),
        typeof(IntegrationCreated),
        typeof(IntegrationDeleted),
        typeof(IntegrationStateChanged),
        typeof(ConnectionFlowFailed),
    }.ToDictionary(type => type.Name, StringComparer.Ordinal);

    /// <summary>The same shape MassTransit's serializer gives the body: camelCase System.Text.Json.</summary>
    public static JsonSerializerOptions SerializerOptions { get; } = new(JsonSerializerDefaults.Web);

    public static string NameOf(object message) =>
        ByName.ContainsKey(message.GetType().Name)
            ? message.GetType().Name
            : throw new ArgumentException($"{message.GetType().Name} is not an outbox message type.", nameof(message));

    /// <summary>Every event type the worker publishes, so their exchanges can exist before the first publish.</summary>
    public static IEnumerable<Type> All => ByName.Values;

    public static bool TryResolve(string name, out Type type) => ByName.TryGetValue(name, out type!);

    public static string Serialize(object message) => JsonSerializer.Serialize(message, message.GetType(), SerializerOptions);

    public static object Deserialize(string body, Type type) =>
        JsonSerializer.Deserialize(body, type, SerializerOptions)
        ?? throw new JsonException($"The stored {type.Name} body is empty.");
}
