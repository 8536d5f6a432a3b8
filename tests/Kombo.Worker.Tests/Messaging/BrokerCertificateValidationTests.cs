using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Kombo.Testing;
using Kombo.Worker.Messaging;
using Kombo.Worker.Tests.Support;

namespace Kombo.Worker.Tests.Messaging;

/// <summary>The one predicate that decides whether the broker's TLS certificate is trusted.</summary>
public sealed class BrokerCertificateValidationTests : IDisposable
{
    private readonly TempDirectory _folder = new();
    private readonly TestCertificateAuthority _authority = TestCertificateAuthority.Create("Broker CA");
    private readonly X509Certificate2 _server;

    public BrokerCertificateValidationTests() =>
        _server = X509Certificate2.CreateFromPem(_authority.IssueServerCertificate("broker.example", "10.0.0.7").CertificatePem);

    [Fact]
    public void Certificate_from_the_given_CA_is_trusted_though_the_machine_does_not_know_that_CA()
    {
        var validation = Validation(_authority.WriteCertificate(_folder.File("ca.pem")));

        Assert.Null(validation.Problem(_server, null, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void Certificate_from_another_CA_is_refused_naming_the_CA_file()
    {
        using var other = TestCertificateAuthority.Create("Another CA");
        var otherCa = other.WriteCertificate(_folder.File("other.pem"));

        var problem = Validation(otherCa).Problem(_server, null, SslPolicyErrors.RemoteCertificateChainErrors);

        Assert.NotNull(problem);
        Assert.Contains($"not signed by the CA in RabbitMq:CaCertificatePath ({otherCa})", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificate_for_another_name_is_refused_even_from_the_given_CA()
    {
        var validation = Validation(_authority.WriteCertificate(_folder.File("ca.pem")), host: "rabbit.internal");

        var problem = validation.Problem(_server, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors);

        Assert.NotNull(problem);
        Assert.Contains("does not name the host 'rabbit.internal' (it names broker.example, 10.0.0.7)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_CA_the_machines_trust_store_decides()
    {
        var validation = Validation(caPath: null);

        Assert.Null(validation.Problem(_server, null, SslPolicyErrors.None));
        Assert.Contains("not signed by a CA this machine trusts", validation.Problem(_server, null, SslPolicyErrors.RemoteCertificateChainErrors), StringComparison.Ordinal);
    }

    [Fact]
    public void Broker_without_a_certificate_is_refused()
    {
        Assert.Equal("it sent no certificate", Validation(caPath: null).Problem(null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
    }

    public void Dispose()
    {
        _server.Dispose();
        _authority.Dispose();
        _folder.Dispose();
    }

    private static BrokerCertificateValidation Validation(string? caPath, string host = "broker.example") =>
        new(new RabbitMqEndpoint(host, 5671, "/", "guest", "guest", UseTls: true, caPath));
}
