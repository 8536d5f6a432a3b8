using System.Net.Sockets;
using MassTransit;

namespace Kombo.Worker.Outbox;

/// <summary>Whether a failed publish says the broker is unavailable, rather than that the message cannot be sent.</summary>
internal static class BrokerFailures
{
    public static bool IsBrokerTrouble(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is TimeoutException or OperationCanceledException or ConnectionException or TransportException
                or SocketException or IOException
                || current.GetType().Namespace?.StartsWith("RabbitMQ.Client", StringComparison.Ordinal) == true)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>MassTransit's own view: unhealthy while it has no working connection to the broker.</summary>
    public static bool BusIsHealthy(IBus bus) =>
        bus is not IBusControl control || control.CheckHealth().Status != BusHealthStatus.Unhealthy;
}
