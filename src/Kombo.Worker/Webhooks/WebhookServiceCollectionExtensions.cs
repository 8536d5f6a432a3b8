using Kombo.Worker.KomboApi;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Webhooks;

public static class WebhookServiceCollectionExtensions
{
    /// <summary>The health and metrics listener's own addresses, kept before the webhook listener's join them.</summary>
    internal const string HealthUrlsKey = "Webhooks:HealthListenerUrls";

    /// <summary>
    /// The webhook receiver. Its listener (<see cref="WebhookOptions.Urls"/>) is added to the host's addresses only
    /// when <c>Kombo:WebhookSecret</c> is set (<see cref="WorkerHostAddresses"/>), and served by <see cref="WebhookListenerFilter"/>.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>()
            .Bind(configuration.GetSection(WebhookOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<IntegrationLifecycle>();
        services.AddSingleton<WebhookEndpoint>();

        // First of the start-up filters, so that its branch comes before the health and metrics endpoints.
        services.Insert(0, ServiceDescriptor.Transient<IStartupFilter, WebhookListenerFilter>());
        return services;
    }

    public static bool WebhooksEnabled(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration[$"{KomboOptions.SectionName}:{nameof(KomboOptions.WebhookSecret)}"]);

    /// <summary>
    /// The host's addresses: the health and metrics listener (<c>Urls</c>), and the webhook listener when webhooks are
    /// on. Kestrel binds them all; <see cref="WebhookListenerFilter"/> tells them apart.
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
    }
}

/// <summary>
/// Serves the webhook endpoint, and nothing else, to connections that arrive on a webhook port: that listener is the
/// one meant to face the internet, so health and metrics must never answer there, and the webhook path never answers
/// on the other listener. Ports tell the listeners apart: the Host header is the client's to choose.
/// </summary>
internal sealed partial class WebhookListenerFilter(
    IConfiguration configuration, IOptions<WebhookOptions> options, ILogger<WebhookListenerFilter> logger) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        if (!WebhookServiceCollectionExtensions.WebhooksEnabled(configuration))
        {
            LogOff();
            next(app);
            return;
        }

        var ports = WebhookListener.Ports(options.Value.Urls);
        var endpoint = app.ApplicationServices.GetRequiredService<WebhookEndpoint>();
        app.MapWhen(http => ports.Contains(http.Connection.LocalPort), webhooks => webhooks.Run(endpoint.HandleAsync));
        LogOn(WebhookOptions.Path, options.Value.Urls);
        next(app);
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks are off: set Kombo:WebhookSecret (Kombo__WebhookSecret) to receive Kombo's webhooks")]
    private partial void LogOff();

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks are on: POST {Path} on {Urls}")]
    private partial void LogOn(string path, string urls);
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
