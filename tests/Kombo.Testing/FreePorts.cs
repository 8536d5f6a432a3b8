using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Kombo.Testing;

/// <summary>Picks TCP ports nothing listens on, for servers started by tests and the benchmark.</summary>
public static class FreePorts
{
    private const int Lowest = 10000;
    private static readonly HashSet<int> Handed = [];

    /// <summary>A free port on 127.0.0.1, never one in <paramref name="taken"/> or one this process handed out before.</summary>
    public static int Pick(params int[] taken)
    {
        // Below the kernel's ephemeral range, so no outgoing connection can take the port between this check and
        // the server's bind (a RabbitMQ node takes seconds to get there).
        var highest = EphemeralRangeStart() - 1;
        lock (Handed)
        {
            for (var attempt = 0; attempt < 500 && highest - Lowest > 100; attempt++)
            {
                var port = Random.Shared.Next(Lowest, highest + 1);
                if (!taken.Contains(port) && !Handed.Contains(port) && IsFree(port))
                {
                    Handed.Add(port);
                    return port;
                }
            }

            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var fallback = ((IPEndPoint)listener.LocalEndpoint).Port;
            Handed.Add(fallback);
            return fallback;
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }

    private static bool IsFree(int port) =>
        CanBind(AddressFamily.InterNetwork, IPAddress.Any, port)
        && (!Socket.OSSupportsIPv6 || CanBind(AddressFamily.InterNetworkV6, IPAddress.IPv6Any, port));

    private static bool CanBind(AddressFamily family, IPAddress address, int port)
    {
        try
        {
            using var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = false;
            }

            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is not (SocketError.AddressAlreadyInUse or SocketError.AccessDenied))
        {
            // No IPv6 on this machine, for example: not a reason to call the port taken.
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
