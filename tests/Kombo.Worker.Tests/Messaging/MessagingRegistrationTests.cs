using Kombo.Worker.Connect;
using Kombo.Worker.Messaging;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.Messaging;

public sealed class MessagingRegistrationTests
{
    [Fact]
    public void MassTransit_reports_no_usage_telemetry()
    {
        var configuration = new ConfigurationBuilder().Build();
        using var provider = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddMessaging(configuration, bus => bus.AddConnectConsumers())
            .BuildServiceProvider();

        Assert.False(provider.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled);
    }
}
