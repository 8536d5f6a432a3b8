using Kombo.Worker.KomboApi;
using Kombo.Worker.Storage;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Messaging;

/// <summary>Endpoint settings shared by both command queues: name, concurrency, prefetch, intake checks and retry.</summary>
internal abstract class CommandConsumerDefinition<TConsumer, TCommand> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer<TCommand>
    where TCommand : class
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
        // A Fault<T> holds the whole command (a RedeemConnectToken's token) and is published to an exchange any
        // subscriber can bind: a failed command goes to its _error queue only, which keeps the original for an operator.
        endpointConfigurator.PublishFaults = false;
        endpointConfigurator.UseFilter(new CommandIntakeFilter<TCommand>(_options.MaxMessageBytes));
        endpointConfigurator.ConfigureDeadLetter(deadLetter => deadLetter.UseFilter(new UnconsumedMessageFilter<TCommand>()));

        // Storage trouble (disk full, read-only, I/O errors) is the worker's, not the command's: the command stays
        // unacknowledged and is tried again, with capped exponential back-off, for as long as it takes; it never goes
        // to the error queue. Outermost, so a storage failure starts the Kombo retries below afresh.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Exponential(int.MaxValue, _options.StorageRetryMinDelay, _options.StorageRetryMaxDelay, _options.StorageRetryMinDelay);
            retry.Handle<Exception>(StorageFailures.IsEnvironmental);
            retry.Handle<IOException>();
        });

        // Kombo unavailable: try the command again later, keeping it unacknowledged so a crash still redelivers it;
        // the last attempt answers with kombo_unavailable. Innermost, so the retry attempt that
        // KomboRedeliveries.IsLastAttempt reads counts these redeliveries only.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Intervals([.. _options.EffectiveKomboRedeliveryIntervals]);
            retry.Handle<KomboUnavailableException>();
        });

        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.PrefetchCount = _options.PrefetchCount;
        }
    }
}
