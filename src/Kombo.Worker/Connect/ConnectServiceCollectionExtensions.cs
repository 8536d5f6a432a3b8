using Kombo.Worker.Connect.Redemption;
using MassTransit;

namespace Kombo.Worker.Connect;

internal static class ConnectServiceCollectionExtensions
{
    /// <summary>
    /// What the command consumers share beyond the bus: the per-token lock, and the sweeper that answers redemptions
    /// no webhook settled in time. Register after the outbox.
    /// </summary>
    public static IServiceCollection AddConnect(this IServiceCollection services)
    {
        services.AddSingleton(RedemptionLedger.Expiring);
        services.AddSingleton(ConnectLinkStore.Expiring);
        services.AddSingleton(ReconnectionLinkStore.Expiring);
        services.AddSingleton(IntegrationStore.ExpiringStateChanges);
        services.AddSingleton(IntegrationStore.ExpiringDeleted);
        services.AddSingleton<TokenLocks>();
        services.AddSingleton<PendingRedemptionSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<PendingRedemptionSweeper>());
        return services;
    }

    /// <summary>The three command consumers, each on its kebab-case queue with the settings of its definition.</summary>
    public static void AddConnectConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.SetKebabCaseEndpointNameFormatter();
        bus.AddConsumer<CreateConnectLinkConsumer, CreateConnectLinkConsumerDefinition>();
        bus.AddConsumer<RedeemConnectTokenConsumer, RedeemConnectTokenConsumerDefinition>();
        bus.AddConsumer<CreateReconnectionLinkConsumer, CreateReconnectionLinkConsumerDefinition>();
    }
}
