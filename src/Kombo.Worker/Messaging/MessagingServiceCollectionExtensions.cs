using System.Net.Security;
using System.Security.Authentication;
using Kombo.Worker.Outbox;
using MassTransit;
using MassTransit.Serialization;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Messaging;

internal static class MessagingServiceCollectionExtensions
{
    public const SslProtocols TlsProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>MassTransit on RabbitMQ with the given consumers, and an exchange for every event from the start.</summary>
    public static IServiceCollection AddMessaging(
        this IServiceCollection services, IConfiguration configuration, Action<IBusRegistrationConfigurator> addConsumers)
    {
        services.AddMessagingOptions(configuration);
        services.AddOptions<RabbitMqOptions>()
            .Bind(configuration.GetSection(RabbitMqOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(provider => new BrokerCertificateValidation(provider.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Endpoint()));
        services.AddOptions<MassTransitHostOptions>().Configure(options =>
        {
            options.WaitUntilStarted = true;
            options.StopTimeout = TimeSpan.FromSeconds(30);
        });

        services.AddMassTransit(bus =>
        {
            // MassTransit would otherwise report usage to masstransit.io: the worker talks to RabbitMQ and Kombo only.
            bus.DisableUsageTelemetry();
            addConsumers(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var broker = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Endpoint();
                rabbit.Host(broker.Host, (ushort)broker.Port, broker.VirtualHost, host =>
                {
                    host.Username(broker.Username);
                    host.Password(broker.Password);
                    host.PublisherConfirmation = true;
                    if (broker.UseTls)
                    {
                        host.UseSsl(tls =>
                        {
                            tls.ServerName = broker.Host;
                            tls.Protocol = TlsProtocols;
                            // MassTransit allows chain errors by default: the callback decides, and nothing is allowed besides.
                            tls.EnforcePolicyErrors(SslPolicyErrors.RemoteCertificateChainErrors);
                            tls.CertificateValidationCallback = context.GetRequiredService<BrokerCertificateValidation>().Accept;
                        });
                    }
                });
                rabbit.UsePlainJsonCommands();
                if (context.GetRequiredService<IOptions<MessagingOptions>>().Value.EventFormat == "raw")
                {
                    rabbit.PublishRawEvents();
                }

                rabbit.DeployEventExchanges();
                rabbit.ConfigureEndpoints(context);
            });
        });
        return services;
    }

    public static IServiceCollection AddMessagingOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MessagingOptions>()
            .Bind(configuration.GetSection(MessagingOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services;
    }

    /// <summary>
    /// Declares the exchange of every event type when the bus starts, not at its first publish, so that a subscriber on
    /// a fresh broker can bind its queue before the first event (RabbitMQ refuses a binding to a missing exchange).
    /// </summary>
    public static void DeployEventExchanges(this IRabbitMqBusFactoryConfigurator rabbit)
    {
        rabbit.DeployPublishTopology = true;
        foreach (var type in OutboxMessageTypes.All)
        {
            rabbit.PublishTopology.GetMessageTopology(type);
        }
    }

    /// <summary>
    /// Publishes (not sends: the responses to request clients keep the envelope their client reads) as the bare event,
    /// with the message id, correlation id and type in the AMQP properties and headers.
    /// </summary>
    public static void PublishRawEvents(this IRabbitMqBusFactoryConfigurator rabbit)
    {
        var raw = new SystemTextJsonRawMessageSerializer(RawSerializerOptions.AddTransportHeaders | RawSerializerOptions.CopyHeaders);
        rabbit.ConfigurePublish(publish => publish.UseExecute(context => context.Serializer = raw));
    }

    /// <summary>
    /// Publishers that are not .NET send a plain JSON body (<c>application/json</c>, or no content type at all);
    /// MassTransit's own envelope keeps working beside it.
    /// </summary>
    public static void UsePlainJsonCommands(this IBusFactoryConfigurator bus) =>
        bus.UseRawJsonDeserializer(RawSerializerOptions.AnyMessageType | RawSerializerOptions.AddTransportHeaders, isDefault: true);
}
