using System.ComponentModel.DataAnnotations;

namespace Kombo.Worker.Operations;

/// <summary>Where traces, metrics and logs go over OTLP; <c>GET /metrics</c> is always served.</summary>
internal sealed record OpenTelemetryOptions
{
    public const string SectionName = "OpenTelemetry";

    /// <summary>The standard variable that names the service; set, it wins over <see cref="ServiceName"/>.</summary>
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";

    [Required]
    public string ServiceName { get; init; } = "kombo-worker";

    public string EffectiveServiceName(string? fromEnvironment) =>
        string.IsNullOrWhiteSpace(fromEnvironment) ? ServiceName : fromEnvironment;

    /// <summary>
    /// The collector's base URL (<c>http://otel-collector:4317</c>). Empty: the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable decides, and without it nothing is exported over OTLP.
    /// </summary>
    public string OtlpEndpoint { get; init; } = "";

    [RegularExpression("^(grpc|http/protobuf)$", ErrorMessage = "OpenTelemetry:OtlpProtocol must be grpc or http/protobuf.")]
    public string OtlpProtocol { get; init; } = "grpc";

    /// <summary>
    /// Whether the W3C baggage of the work that writes an event travels with it to every subscriber. Off: baggage is
    /// whatever a caller chose to put there (user ids, emails, tenant names) and the subscribers are not the caller's
    /// to choose; traceparent and tracestate flow either way.
    /// </summary>
    public bool ForwardBaggage { get; init; }

    public Uri? GetOtlpEndpoint() =>
        Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : null;
}
