using System.ComponentModel.DataAnnotations;
using Kombo.Worker.Messaging;

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
    public void Printed_options_never_show_the_password()
    {
        var printed = new RabbitMqOptions { Uri = "amqps://kombo:s3cret@broker.example/prod" }.ToString();

        Assert.DoesNotContain("s3cret", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", new RabbitMqOptions { Uri = "amqps://kombo:s3cret@broker.example/prod" }.Endpoint().ToString(), StringComparison.Ordinal);
    }
}
