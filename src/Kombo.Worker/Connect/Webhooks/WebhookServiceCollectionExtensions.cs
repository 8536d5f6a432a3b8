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
        services.AddSingleton<WebhookEndpoint>();
        return services;
    }

    public static bool WebhooksEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{KomboOptions.SectionName}:{nameof(KomboOptions.WebhookSecret)}"]);

    /// <summary>
    /// The host's addresses: the health and metrics listener (<c>Urls</c>), and the webhook listener when webhooks are
    /// on. Kestrel binds them all; <see cref="WebhookEndpoints.UseKomboWebhooks"/> tells them apart.
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

internal sealed class WebhookOptionsValidator(IConfiguration configuration) : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var health = configuration[WebhookServiceCollectionExtensions.HealthUrlsKey] ?? configuration[WebHostDefaults.ServerUrlsKey];
        var problems = WebhookListener.Problems(options.Urls, health).ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
