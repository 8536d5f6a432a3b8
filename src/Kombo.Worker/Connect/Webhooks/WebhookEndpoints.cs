using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Webhooks;

internal static partial class WebhookEndpoints
{
    /// <summary>
    /// Serves the webhook endpoint, and nothing else, to connections that arrive on a webhook port: that listener is the
    /// one meant to face the internet, so health and metrics must never answer there, and the webhook path never answers
    /// on the other listener. Ports tell the listeners apart: the Host header is the client's to choose. Call it before
    /// any other endpoint, so that its branch comes first.
    /// </summary>
    public static IApplicationBuilder UseKomboWebhooks(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebhookEndpoints));
        if (!WebhookServiceCollectionExtensions.WebhooksEnabled(services.GetRequiredService<IConfiguration>()))
        {
            LogOff(logger);
            return app;
        }

        var urls = services.GetRequiredService<IOptions<WebhookOptions>>().Value.Urls;
        var ports = WebhookListener.Ports(urls);
        var endpoint = services.GetRequiredService<WebhookEndpoint>();
        app.MapWhen(http => ports.Contains(http.Connection.LocalPort), webhooks => webhooks.Run(endpoint.HandleAsync));
        LogOn(logger, WebhookOptions.Path, urls);
        return app;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks are off: set Kombo:WebhookSecret (Kombo__WebhookSecret) to receive Kombo's webhooks")]
    private static partial void LogOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhooks are on: POST {Path} on {Urls}")]
    private static partial void LogOn(ILogger logger, string path, string urls);
}
