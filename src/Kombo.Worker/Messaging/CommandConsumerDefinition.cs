using Kombo.Worker.KomboApi;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Messaging;

/// <summary>Endpoint settings shared by both command queues: name, concurrency, prefetch and retry.</summary>
public abstract class CommandConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    private readonly MessagingOptions _options;

    protected CommandConsumerDefinition(IOptions<MessagingOptions> options, string endpointName)
    {
        _options = options.Value;
        EndpointName = endpointName;
        ConcurrentMessageLimit = _options.ConcurrentMessageLimit;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        // Kombo unavailable: try the command again later, keeping it unacknowledged so a crash still redelivers it;
        // the last attempt answers with kombo_unavailable. SQLite errors (disk full, I/O) get the same patience.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Intervals([.. _options.EffectiveKomboRedeliveryIntervals]);
            retry.Handle<KomboUnavailableException>();
            retry.Handle<SqliteException>();
        });

        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.PrefetchCount = _options.PrefetchCount;
        }
    }
}
