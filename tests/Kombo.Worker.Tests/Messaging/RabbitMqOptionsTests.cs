using System.ComponentModel.DataAnnotations;
using Kombo.Testing;
using Kombo.Worker.Messaging;
using Kombo.Worker.Tests.Support;

namespace Kombo.Worker.Tests.Messaging;

public sealed class RabbitMqOptionsTests
{
    [Fact]
    public void Separate_keys_are_used_without_a_uri()
    {
        var options = new RabbitMqOptions { Host = "rabbit", Port = 5673, VirtualHost = "kombo", Username = "u", Password = "p" };

        Assert.Equal(new RabbitMqEndpoint("rabbit", 5673, "kombo", "u", "p", false), options.Endpoint());
    }

    [Theory]
    [InlineData("amqp://kombo:s3cret@broker.example:5680/prod", "broker.example", 5680, "prod", "kombo", "s3cret", false)]
    [InlineData("amqps://kombo:s3cret@broker.example/prod", "broker.example", 5671, "prod", "kombo", "s3cret", true)]
    [InlineData("amqp://broker.example", "broker.example", 5672, "/", "guest", "guest", false)]
    [InlineData("amqp://a%40b:p%2Fq@broker.example/%2F", "broker.example", 5672, "/", "a@b", "p/q", false)]
    public void Uri_gives_host_port_virtual_host_credentials_and_tls(
        string uri, string host, int port, string virtualHost, string username, string password, bool tls)
    {
        Assert.Equal(new RabbitMqEndpoint(host, port, virtualHost, username, password, tls), new RabbitMqOptions { Uri = uri }.Endpoint());
    }

    [Theory]
    [InlineData("http://broker.example")]
    [InlineData("not a uri")]
    [InlineData("amqp://broker.example/a/b")]
    public void Uri_that_is_not_an_amqp_address_is_refused(string uri)
    {
        var options = new RabbitMqOptions { Uri = uri };
        var results = new List<ValidationResult>();

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.MemberNames.Contains(nameof(RabbitMqOptions.Uri)));
    }

    [Fact]
    public void Ca_certificate_is_part_of_the_endpoint_either_way()
    {
        using var folder = new TempDirectory();
        using var authority = TestCertificateAuthority.Create("Options CA");
        var ca = authority.WriteCertificate(folder.File("ca.pem"));

        Assert.Empty(Problems(new RabbitMqOptions { Uri = "amqps://broker.example/prod", CaCertificatePath = ca }));
        Assert.Equal(ca, new RabbitMqOptions { Uri = "amqps://broker.example/prod", CaCertificatePath = ca }.Endpoint().CaCertificatePath);
        Assert.Equal(ca, new RabbitMqOptions { UseTls = true, CaCertificatePath = ca }.Endpoint().CaCertificatePath);
        Assert.Null(new RabbitMqOptions { UseTls = true, CaCertificatePath = " " }.Endpoint().CaCertificatePath);
    }

    [Fact]
    public void Ca_certificate_without_tls_is_refused_so_credentials_never_go_out_in_clear_by_mistake()
    {
        using var folder = new TempDirectory();
        using var authority = TestCertificateAuthority.Create("Options CA");
        var ca = authority.WriteCertificate(folder.File("ca.pem"));

        var problem = Assert.Single(Problems(new RabbitMqOptions { Uri = "amqp://broker.example/prod", CaCertificatePath = ca }));
        Assert.Contains("not TLS", problem.ErrorMessage, StringComparison.Ordinal);
        Assert.Single(Problems(new RabbitMqOptions { CaCertificatePath = ca }));
    }

    [Fact]
    public void Ca_certificate_path_that_holds_no_certificate_is_refused_naming_the_file()
    {
        using var folder = new TempDirectory();
        var missing = folder.File("missing.pem");
        var empty = folder.File("empty.pem");
        File.WriteAllText(empty, "not a certificate\n");

        Assert.Contains(missing, Assert.Single(Problems(new RabbitMqOptions { UseTls = true, CaCertificatePath = missing })).ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("holds no PEM certificate", Assert.Single(Problems(new RabbitMqOptions { UseTls = true, CaCertificatePath = empty })).ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Printed_options_never_show_the_password()
    {
        var printed = new RabbitMqOptions { Uri = "amqps://kombo:s3cret@broker.example/prod" }.ToString();

        Assert.DoesNotContain("s3cret", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", new RabbitMqOptions { Uri = "amqps://kombo:s3cret@broker.example/prod" }.Endpoint().ToString(), StringComparison.Ordinal);
    }

    private static List<ValidationResult> Problems(RabbitMqOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }
}
