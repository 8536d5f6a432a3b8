using Kombo.Worker.KomboApi;
using MassTransit;
using Microsoft.Data.Sqlite;

namespace Kombo.Worker.Messaging;

/// <summary>Receive-endpoint settings shared by both command queues.</summary>
public static class CommandEndpoint
{
    public static void Configure(IReceiveEndpointConfigurator endpoint, MessagingOptions options)
    {
        // Kombo unavailable: try the command again later, keeping it unacknowledged so a crash still redelivers it;
        // the last attempt answers with kombo_unavailable. SQLite errors (disk full, I/O) get the same patience.
        endpoint.UseMessageRetry(retry =>
        {
            retry.Intervals([.. options.EffectiveKomboRedeliveryIntervals]);
            retry.Handle<KomboUnavailableException>();
            retry.Handle<SqliteException>();
        });

        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.PrefetchCount = options.PrefetchCount;
        }
    }
}
