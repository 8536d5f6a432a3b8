using System.Text.Json.Serialization;
using Kombo.Emulator.Webhooks;

namespace Kombo.Emulator.Stats;

/// <summary>The body of <c>GET /emulator/stats</c>.</summary>
public sealed record StatsSnapshot(
    long TotalCalls,
    EndpointCounts Endpoints,
    FaultCounts Faults,
    IReadOnlyDictionary<string, long> StatusCodes,
    long LinksCreated,
    long TokensIssued,
    long TokensRedeemed,
    WebhookCounts Webhooks);

/// <summary>Calls per <c>/v1</c> endpoint, faulted ones included.</summary>
public sealed record EndpointCounts(
    long CreateLink, long IntegrationByToken, long ActivateIntegration, long Relink, long CheckApiKey);

/// <summary>Injected faults by kind (<c>delayed</c> counts calls that got <c>latency_ms</c>).</summary>
public sealed record FaultCounts(long Delayed, long ServerError, [property: JsonPropertyName("plain_text_503")] long PlainText503, long RateLimited, long Hang);
