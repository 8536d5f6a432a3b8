using Kombo.Worker.KomboApi;
using Kombo.Worker.Outbox;
using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Kombo.Worker.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// OpenTelemetry metrics (the worker's meter, MassTransit's, Polly's and the runtime's), always served as Prometheus
    /// text on <c>GET /metrics</c> of the worker's HTTP listener; when an OTLP endpoint is configured, also traces
    /// (MassTransit's and one span per Kombo call), metrics and logs over OTLP.
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

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WorkerMetrics>();
        services.TryAddSingleton<OutboxStatistics>();
        services.TryAddSingleton<OutboxGauges>();
        services.AddOptions<Polly.Telemetry.TelemetryOptions>()
            .Configure<WorkerMetrics>((options, metrics) => options.TelemetryListeners.Add(new KomboPipelineListener(metrics)));

        // The options are validated at start-up; the wiring below only needs to know whether OTLP is wanted at all.
        var settings = section.Get<OpenTelemetryOptions>() ?? new OpenTelemetryOptions();
        var serviceName = settings.EffectiveServiceName(configuration[OpenTelemetryOptions.ServiceNameVariable]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName, serviceVersion: typeof(TelemetryServiceCollectionExtensions).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics
                .AddMeter(WorkerMetrics.MeterName, InstrumentationOptions.MeterName, "Polly", "System.Runtime")
                .AddInstrumentation(provider => provider.GetRequiredService<OutboxGauges>())
                .AddPrometheusExporter());

        // Without OTLP there is no tracing at all: spans nobody exports would still be recorded for every message.
        var endpoint = settings.GetOtlpEndpoint();
        if (endpoint is not null || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            // No HttpClient instrumentation: its spans record url.full, and a by-token path is a credential.
            telemetry.WithTracing(tracing => tracing.AddSource(DiagnosticHeaders.DefaultListenerName, KomboCallTelemetry.ActivitySourceName, OutboxTrace.ActivitySourceName));
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

        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, PrometheusEndpoint>());
        return services;
    }
}

/// <summary>Serves <c>GET /metrics</c> on whatever listener hosts the worker, ahead of anything else it maps.</summary>
internal sealed class PrometheusEndpoint : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        next(app);
    };
}
