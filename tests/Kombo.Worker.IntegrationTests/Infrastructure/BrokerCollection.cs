using Kombo.Testing;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>Every test that needs RabbitMQ shares one node per run: starting one takes 10-20 s.</summary>
[CollectionDefinition(Name)]
public sealed class BrokerCollection : ICollectionFixture<RabbitMqBroker>
{
    public const string Name = "broker";
}
