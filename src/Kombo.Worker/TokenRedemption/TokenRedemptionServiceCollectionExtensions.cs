namespace Kombo.Worker.TokenRedemption;

public static class TokenRedemptionServiceCollectionExtensions
{
    /// <summary>
    /// The sweeper that answers redemptions no webhook settled in time, and the per-token lock of the consumer.
    /// Register after the outbox.
    /// </summary>
    public static IServiceCollection AddTokenRedemption(this IServiceCollection services)
    {
        services.AddSingleton<TokenLocks>();
        services.AddSingleton<PendingRedemptionSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<PendingRedemptionSweeper>());
        return services;
    }
}
