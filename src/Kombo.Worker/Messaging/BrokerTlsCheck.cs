using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Messaging;

/// <summary>
/// One TLS handshake with the broker before the bus starts. The bus retries a refused certificate forever, one warning
/// at a time, as it retries an outage; a certificate the worker cannot trust does not fix itself, so it stops the
/// start with one line instead. A broker that cannot be reached now is left to the bus, which waits for it.
/// </summary>
internal static class BrokerTlsCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <returns>What keeps the worker from trusting the broker; null when it does, without TLS, or when it is unreachable.</returns>
    public static Task<string?> ProblemAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        ProblemAsync(
            services.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Endpoint(),
            services.GetRequiredService<BrokerCertificateValidation>(),
            cancellationToken);

    public static async Task<string?> ProblemAsync(RabbitMqEndpoint endpoint, BrokerCertificateValidation validation, CancellationToken cancellationToken)
    {
        if (!endpoint.UseTls)
        {
            return null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token);
        }
        catch (Exception ex) when (ex is SocketException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        string? problem = null;
        await using var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false,
            (sender, certificate, chain, errors) => (problem = validation.Problem(certificate, chain, errors)) is null);
        try
        {
            await tls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions { TargetHost = endpoint.Host, EnabledSslProtocols = MessagingServiceCollectionExtensions.TlsProtocols }, timeout.Token);
            return null;
        }
        catch (AuthenticationException ex)
        {
            return $"not connecting to {endpoint}: {problem ?? $"the TLS handshake failed ({ex.GetBaseException().Message}); is {endpoint.Port} the broker's TLS port?"}";
        }
        catch (Exception ex) when (ex is IOException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
