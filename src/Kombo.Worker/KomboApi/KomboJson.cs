using System.Text.Json.Serialization;

namespace Kombo.Worker.KomboApi;

/// <summary>Kombo's success envelope: <c>{"status":"success","data":{...}}</c>.</summary>
internal sealed record KomboSuccess<T>(string? Status, T? Data)
    where T : class;

/// <summary>The body of <c>POST /connect/activate-integration</c>.</summary>
internal sealed record ActivateIntegrationRequest(string Token);

/// <summary>Source-generated serialisation for the Kombo wire format: snake_case, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateLinkRequest))]
[JsonSerializable(typeof(ActivateIntegrationRequest))]
[JsonSerializable(typeof(RelinkRequest))]
[JsonSerializable(typeof(KomboSuccess<CreatedLink>), TypeInfoPropertyName = "CreatedLinkSuccess")]
[JsonSerializable(typeof(KomboSuccess<ConnectedIntegration>), TypeInfoPropertyName = "ConnectedIntegrationSuccess")]
[JsonSerializable(typeof(KomboSuccess<ApiKeyEnvironment>), TypeInfoPropertyName = "ApiKeyEnvironmentSuccess")]
internal sealed partial class KomboJson : JsonSerializerContext;
