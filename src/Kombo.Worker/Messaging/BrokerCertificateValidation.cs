using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Kombo.Worker.Messaging;

/// <summary>
/// Whether the broker's TLS certificate is to be trusted: it must name the host the worker connects to and chain to
/// the CA in <c>RabbitMq:CaCertificatePath</c> when one is given, else to a CA the machine trusts. MassTransit on its
/// own accepts any chain (it allows <see cref="SslPolicyErrors.RemoteCertificateChainErrors"/>); this callback
/// replaces that, for the bus, the start-up check and the error queue tool alike.
/// </summary>
internal sealed class BrokerCertificateValidation
{
    private readonly string _host;
    private readonly string? _caPath;
    private readonly X509Certificate2Collection? _authorities;

    public BrokerCertificateValidation(RabbitMqEndpoint endpoint)
    {
        _host = endpoint.Host;
        _caPath = endpoint.CaCertificatePath;
        if (_caPath is not null)
        {
            _authorities = [];
            _authorities.ImportFromPemFile(_caPath);
        }
    }

    public bool Accept(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        Problem(certificate, chain, errors) is null;

    /// <returns>Null when the certificate is trusted; else what is wrong with it, in a sentence.</returns>
    public string? Problem(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "it sent no certificate";
        }

        using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return $"its certificate ({server.Subject}) does not name the host '{_host}' (it names {Names(server)}); " +
                "connect by a name it holds (RabbitMq:Uri or RabbitMq:Host)";
        }

        if (_authorities is null)
        {
            return errors == SslPolicyErrors.None ? null :
                $"its certificate ({server.Subject}, issued by {server.Issuer}) is not signed by a CA this machine trusts " +
                $"({Status(chain)}); give the broker's CA in RabbitMq:CaCertificatePath";
        }

        // The machine's trust store plays no part: the broker must chain to the CA the operator gave.
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var element in chain?.ChainElements.Skip(1) ?? [])
        {
            custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        }

        return custom.Build(server) ? null :
            $"its certificate ({server.Subject}, issued by {server.Issuer}) is not signed by the CA in " +
            $"RabbitMq:CaCertificatePath ({_caPath}): {Status(custom)}";
    }

    private static string Names(X509Certificate2 certificate)
    {
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>()
            .SelectMany(e => e.EnumerateDnsNames().Concat(e.EnumerateIPAddresses().Select(a => a.ToString())))
            .ToList();
        return names.Count > 0 ? string.Join(", ", names) : "no subject alternative name";
    }

    private static string Status(X509Chain? chain) =>
        chain?.ChainStatus is { Length: > 0 } status
            ? string.Join("; ", status.Select(s => s.StatusInformation.Trim() is { Length: > 0 } text ? text : s.Status.ToString()).Distinct())
            : "the chain could not be built";
}
