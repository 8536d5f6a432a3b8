using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Kombo.Worker.Operations;

internal static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// OpenTelemetry metrics (the worker's meter, MassTransit's, Polly's and the runtime's), always served as Prometheus
    /// text on <c>GET /metrics</c> (<see cref="OperationsEndpoints"/>); when an OTLP endpoint is configured, also traces
    /// (MassTransit's, and the sources the features add: one span per Kombo call, the outbox relay's), metrics and logs
    /// over OTLP. The features add their own sources and gauges with <c>ConfigureOpenTelemetry*Provider</c>.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(OpenTelemetryOptions.SectionName);
        services.AddOptions<OpenTelemetryOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .Validate(o => string.IsNullOrWhiteSpace(o.OtlpEndpoint) || o.GetOtlpEndpoint() is not null,
                "OpenTelemetry:OtlpEndpoint must be an absolute http or https URL, or empty.")
            .ValidateOnStart();

        services.AddWorkerMetrics();
        services.TryAddSingleton(TimeProvider.System);

        // The options are validated at start-up; the wiring below only needs to know whether OTLP is wanted at all.
        var settings = section.Get<OpenTelemetryOptions>() ?? new OpenTelemetryOptions();
        var serviceName = settings.EffectiveServiceName(configuration[OpenTelemetryOptions.ServiceNameVariable]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName, serviceVersion: typeof(TelemetryServiceCollectionExtensions).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics
                .AddMeter(WorkerMetrics.MeterName, InstrumentationOptions.MeterName, "Polly", "System.Runtime")
                .AddPrometheusExporter());

        // Without OTLP there is no tracing at all: spans nobody exports would still be recorded for every message.
        var endpoint = settings.GetOtlpEndpoint();
        if (endpoint is not null || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // No HttpClient instrumentation: its spans record url.full, and a by-token path is a credential.
            telemetry.WithTracing(tracing => tracing.AddSource(DiagnosticHeaders.DefaultListenerName));
            if (endpoint is not null)
            {
                telemetry.UseOtlpExporter(settings.OtlpProtocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc, endpoint);
            }
            else
            {
                telemetry.UseOtlpExporter();
            }

            // The correlation id rides in a log scope; OTLP logs would drop it otherwise.
            services.Configure<OpenTelemetryLoggerOptions>(options => options.IncludeScopes = true);
        }

        return services;
    }

    /// <summary>The one <see cref="WorkerMetrics"/> every feature records on; registering it twice is harmless.</summary>
    public static IServiceCollection AddWorkerMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<WorkerMetrics>();
        return services;
    }
}
