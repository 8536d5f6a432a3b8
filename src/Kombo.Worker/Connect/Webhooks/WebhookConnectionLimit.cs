using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// Caps the connections open at once on the webhook listener (<see cref="WebhookOptions.MaxConnections"/>). Kestrel's
/// own cap counts every listener; this one leaves the health and metrics listener reachable during a flood.
/// </summary>
internal sealed partial class WebhookConnectionLimit(
    IOptions<WebhookOptions> options, WebhookRefusals refusals, ILogger<WebhookConnectionLimit> logger)
{
    private int _open;

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > options.Value.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            if (refusals.Refuse("connection_limit"))
            {
                LogRefused(options.Value.MaxConnections);
            }

            // Returning without a request closes the connection, as Kestrel's own limit does.
            return;
        }

        try
        {
            await next(connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook connection refused: {MaxConnections} are open already (Webhooks:MaxConnections)")]
    private partial void LogRefused(int maxConnections);
}
