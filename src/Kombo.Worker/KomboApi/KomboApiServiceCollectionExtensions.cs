using System.Net;
using System.Net.Http.Headers;
using Kombo.Worker.Operations;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using Polly;
using Polly.Telemetry;

namespace Kombo.Worker.KomboApi;

internal static class KomboApiServiceCollectionExtensions
{
    /// <summary>
    /// The typed <see cref="KomboClient"/>, its validated <see cref="KomboOptions"/> (section <c>Kombo</c>), the
    /// <c>kombo</c> resilience pipeline with its telemetry. Tests swap the network with
    /// <c>services.AddHttpClient&lt;KomboClient&gt;().ConfigurePrimaryHttpMessageHandler(() =&gt; fake)</c> afterwards.
    /// </summary>
    public static IServiceCollection AddKomboApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KomboOptions>()
            .Bind(configuration.GetSection(KomboOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KomboOptions>, KomboOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddResiliencePipeline<string, KomboResponse>(KomboPipeline.Name, (builder, context) =>
            KomboPipeline.Configure(
                builder,
                context.ServiceProvider.GetRequiredService<IOptions<KomboOptions>>().Value,
                context.ServiceProvider.GetRequiredService<TimeProvider>()));

        services.AddHttpClient<KomboClient>((provider, http) =>
            {
                var options = provider.GetRequiredService<IOptions<KomboOptions>>().Value;
                http.BaseAddress = options.GetBaseAddress();
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
                http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                // The pipeline owns every timeout; HttpClient's own 100 s would fire as an unclassified cancellation.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.MaxResponseContentBufferSize = 1024 * 1024;
            })
            .ConfigurePrimaryHttpMessageHandler(provider => new SocketsHttpHandler
            {
                MaxConnectionsPerServer = provider.GetRequiredService<IOptions<KomboOptions>>().Value.MaxConnectionsPerServer,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                AutomaticDecompression = DecompressionMethods.All,
                // Kombo never redirects; following one would replay a token-bearing request to wherever it points.
                AllowAutoRedirect = false,
            })
            // Pooled connections already follow DNS changes, so the factory need not recycle handlers.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The default HttpClient loggers write the full URL, and a by-token path is a credential.
            .RemoveAllLoggers();

        services.AddWorkerMetrics();
        services.AddOptions<TelemetryOptions>()
            .Configure<WorkerMetrics>((options, metrics) => options.TelemetryListeners.Add(new KomboPipelineListener(metrics)));
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(KomboCallTelemetry.ActivitySourceName));
        return services;
    }

    /// <summary>Checks the API key against Kombo at start and then periodically; readiness fails while Kombo refuses it.</summary>
    public static IServiceCollection AddKomboApiKeyCheck(this IServiceCollection services)
    {
        services.TryAddSingleton<ApiKeyStatus>();
        services.AddHostedService<ApiKeyCheck>();
        services.AddHealthChecks().AddCheck<ApiKeyAcceptedCheck>(ApiKeyAcceptedCheck.Name, tags: [HealthServiceCollectionExtensions.ReadyTag]);
        return services;
    }
}
