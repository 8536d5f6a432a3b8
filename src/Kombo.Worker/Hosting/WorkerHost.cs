using Kombo.Worker.KomboApi;
using Kombo.Worker.Messaging;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;

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
        return builder;
    }

    /// <summary>Everything the worker runs, in start-up order: schema, Kombo client, bus, then the outbox relay.</summary>
    public static IServiceCollection AddWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddStorage(configuration);
        services.AddKomboApi(configuration);
        services.AddMessaging(configuration);
        services.AddOutbox(configuration);
        return services;
    }
}
