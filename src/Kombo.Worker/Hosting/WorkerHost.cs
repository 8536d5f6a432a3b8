using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Operations;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Hosting;

internal static class WorkerHost
{
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = SettingsFile.LocateDirectory(),
        });
        builder.Services.AddWorker(builder.Configuration);
        builder.WebHost.WorkerHostAddresses(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Everything the worker runs, in start-up order: telemetry and health, schema, Kombo client, bus with the command
    /// consumers, the outbox relay, the redemption sweeper, Kombo's webhooks, then the API key check. Each feature
    /// adds its own readiness check.
    /// </summary>
    public static IServiceCollection AddWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddTelemetry(configuration);
        services.AddHealth(configuration);
        services.AddStorage(configuration);
        services.AddKomboApi(configuration);
        services.AddMessaging(configuration, bus => bus.AddConnectConsumers());
        services.AddOutbox(configuration);
        services.AddConnect();
        services.AddWebhooks(configuration);
        services.AddKomboApiKeyCheck();
        return services;
    }

    /// <summary>
    /// <c>POST /kombo/webhooks</c> on the webhook listener (<c>Webhooks:Urls</c>) first, then <c>/health/live</c>,
    /// <c>/health/ready</c> and <c>/metrics</c> on the HTTP listener (<c>Urls</c>).
    /// </summary>
    public static WebApplication MapWorkerEndpoints(this WebApplication app)
    {
        app.UseKomboWebhooks();
        app.UseOperationsEndpoints();
        return app;
    }
}
