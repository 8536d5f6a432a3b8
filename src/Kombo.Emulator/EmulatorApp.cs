using Kombo.Emulator.Auth;
using Kombo.Emulator.Connect;
using Kombo.Emulator.EndUser;
using Kombo.Emulator.Faults;
using Kombo.Emulator.Integrations;
using Kombo.Emulator.RateLimits;
using Kombo.Emulator.Stats;
using Kombo.Emulator.Webhooks;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator;

/// <summary>
/// Builds the emulator. Tests host it in-process (<c>--urls http://127.0.0.1:0</c>, then read <see cref="WebApplication.Urls"/>
/// after start) and can replace services, such as the <see cref="TimeProvider"/>, in <paramref name="configure"/>.
/// </summary>
public static class EmulatorApp
{
    // Lowest-priority defaults, so appsettings, environment variables and the command line all override them.
    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["urls"] = "http://127.0.0.1:5080",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft"] = "Warning",
    };

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(EmulatorApp).Assembly.GetName().Name,
        });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        builder.Services.AddOptions<EmulatorOptions>()
            .Bind(builder.Configuration.GetSection(EmulatorOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EmulatorOptions>, EmulatorOptionsValidation>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<EmulatorState>();
        builder.Services.AddSingleton<RequestStats>();
        builder.Services.AddSingleton<ActiveFaults>();
        builder.Services.AddSingleton<FixedWindowRateLimit>();
        builder.Services.AddSingleton<IntegrationLifecycle>();
        builder.Services.AddWebhooks();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRouting();
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/v1"), v1 => v1
            .UseMiddleware<StatsCounting>()
            .UseMiddleware<RateLimitHeaders>()
            .UseMiddleware<FaultInjection>()
            .UseMiddleware<BearerKeyCheck>());

        app.MapConnect();
        app.MapGroup("/emulator").MapEndUser().MapIntegrationAdmin().MapFaults().MapWebhooks().MapStats();

        app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation(
            "Kombo emulator listening on {Urls} (Kombo API under /v1, admin API under /emulator)", string.Join(", ", app.Urls)));
        return app;
    }
}
