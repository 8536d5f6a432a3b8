using Kombo.Worker.KomboApi;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Webhooks;

internal static class WebhookServiceCollectionExtensions
{
    /// <summary>The health and metrics listener's own addresses, kept before the webhook listener's join them.</summary>
    internal const string HealthUrlsKey = "Webhooks:HealthListenerUrls";

    /// <summary>
    /// The webhook receiver. Its listener (<see cref="WebhookOptions.Urls"/>) is added to the host's addresses only
    /// when <c>Kombo:WebhookSecret</c> is set (<see cref="WorkerHostAddresses"/>), and served by <see cref="WebhookEndpoints.UseKomboWebhooks"/>.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>()
            .Bind(configuration.GetSection(WebhookOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<IntegrationLifecycle>();
        services.AddSingleton(WebhookReceipts.Expiring);
        services.AddSingleton<WebhookRefusals>();
        services.AddSingleton<WebhookConnectionLimit>();
        services.AddSingleton<WebhookEndpoint>();
        return services;
    }

    public static bool WebhooksEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{KomboOptions.SectionName}:{nameof(KomboOptions.WebhookSecret)}"]);

    /// <summary>
    /// The host's addresses: the health and metrics listener (<c>Urls</c>), and the webhook listener when webhooks are
    /// on. Kestrel binds them all; <see cref="WebhookEndpoints.UseKomboWebhooks"/> tells them apart, and the webhook
    /// listener's connections pass through <see cref="WebhookConnectionLimit"/>.
    /// </summary>
    public static void WorkerHostAddresses(this IWebHostBuilder webHost, IConfiguration configuration)
    {
        if (!WebhooksEnabled(configuration))
        {
            return;
        }

        var health = configuration[WebHostDefaults.ServerUrlsKey] ?? "http://localhost:5000";
        var webhooks = configuration[$"{WebhookOptions.SectionName}:{nameof(WebhookOptions.Urls)}"] ?? new WebhookOptions().Urls;
        webHost.UseSetting(HealthUrlsKey, health);
        webHost.UseUrls([.. WebhookListener.Addresses(health), .. WebhookListener.Addresses(webhooks)]);
        var ports = WebhookListener.Ports(webhooks);
        webHost.ConfigureKestrel(kestrel =>
        {
            // Kestrel has one headers timeout, and one wait for a request's first byte (its keep-alive timeout), for every
            // listener; the body's limits are set per webhook request.
            var headersTimeout = HeadersTimeout(kestrel.ApplicationServices);
            kestrel.Limits.RequestHeadersTimeout = headersTimeout;
            kestrel.Limits.KeepAliveTimeout = headersTimeout;
            kestrel.ConfigureEndpointDefaults(listen =>
            {
                if (listen.IPEndPoint is { } endpoint && ports.Contains(endpoint.Port))
                {
                    listen.Use(listen.ApplicationServices.GetRequiredService<WebhookConnectionLimit>().Wrap);
                }
            });
        });
    }

    // Kestrel is built before the configuration check reports what is wrong; it starts only once the check passed.
    private static TimeSpan HeadersTimeout(IServiceProvider services)
    {
        try
        {
            return services.GetRequiredService<IOptions<WebhookOptions>>().Value.RequestHeadersTimeout;
        }
        catch (OptionsValidationException)
        {
            return new WebhookOptions().RequestHeadersTimeout;
        }
    }
}

internal sealed class WebhookOptionsValidator(IConfiguration configuration) : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var health = configuration[WebhookServiceCollectionExtensions.HealthUrlsKey] ?? configuration[WebHostDefaults.ServerUrlsKey];
        var problems = WebhookListener.Problems(options.Urls, health).ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
