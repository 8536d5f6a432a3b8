namespace Kombo.Worker.Outbox;

public static class OutboxServiceCollectionExtensions
{
    /// <summary>The transactional outbox, its relay and its cleanup. Register after MassTransit: the relay needs the bus.</summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OutboxOptions>()
            .Bind(configuration.GetSection(OutboxOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<CommittedRows>();
        services.AddSingleton<TransactionalOutbox>();
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxRelay>());
        services.AddSingleton<OutboxCleanup>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxCleanup>());
        return services;
    }
}
