using Kombo.Worker.Health;
using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Kombo.Worker.Telemetry;
using Kombo.Worker.TokenRedemption;
using Kombo.Worker.Webhooks;

namespace Kombo.Worker.Hosting;

public static class WorkerHost
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
    /// Everything the worker runs, in start-up order: telemetry, schema, Kombo client, bus, the outbox relay, Kombo's
    /// webhooks, then the health checks. <c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c> are served on the
    /// HTTP listener (<c>Urls</c>), <c>POST /kombo/webhooks</c> on a listener of its own (<c>Webhooks:Urls</c>).
    /// </summary>
    public static IServiceCollection AddWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddTelemetry(configuration);
        services.AddStorage(configuration);
        services.AddKomboApi(configuration);
        services.AddMessaging(configuration);
        services.AddOutbox(configuration);
        services.AddTokenRedemption();
        services.AddWebhooks(configuration);
        services.AddHealth(configuration);
        return services;
    }
}
