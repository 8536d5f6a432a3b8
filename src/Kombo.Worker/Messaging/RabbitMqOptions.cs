using System.ComponentModel.DataAnnotations;
using System.Text;

namespace Kombo.Worker.Messaging;

/// <summary>
/// The <c>RabbitMq</c> section: either one <see cref="Uri"/> (<c>amqp://</c>, or <c>amqps://</c> for TLS), as most
/// hosted brokers hand it out, or the separate keys. The URI wins where both are set.
/// </summary>
internal sealed record RabbitMqOptions : IValidatableObject
{
    public const string SectionName = "RabbitMq";

    /// <summary><c>amqp://user:password@host:port/vhost</c>; <c>amqps://</c> turns TLS on (port 5671 by default).</summary>
    public string? Uri { get; init; }

    [Required]
    public string Host { get; init; } = "localhost";

    [Range(1, 65535)]
    public int Port { get; init; } = 5672;

    [Required]
    public string VirtualHost { get; init; } = "/";

    [Required]
    public string Username { get; init; } = "guest";

    [Required]
    public string Password { get; init; } = "guest";

    /// <summary>TLS with the separate keys; an <c>amqps://</c> URI sets it by itself.</summary>
    public bool UseTls { get; init; }

    /// <summary>What the bus connects to, from the URI when there is one.</summary>
    public RabbitMqEndpoint Endpoint()
    {
        if (string.IsNullOrWhiteSpace(Uri))
        {
            return new RabbitMqEndpoint(Host, Port, VirtualHost, Username, Password, UseTls);
        }

        var uri = new Uri(Uri, UriKind.Absolute);
        var tls = uri.Scheme == "amqps";
        var credentials = uri.UserInfo.Split(':', 2);
        var virtualHost = uri.AbsolutePath.Trim('/');
        return new RabbitMqEndpoint(
            uri.Host,
            uri.IsDefaultPort || uri.Port < 0 ? (tls ? 5671 : 5672) : uri.Port,
            virtualHost.Length == 0 ? "/" : System.Uri.UnescapeDataString(virtualHost),
            credentials[0].Length == 0 ? Username : System.Uri.UnescapeDataString(credentials[0]),
            credentials.Length < 2 ? Password : System.Uri.UnescapeDataString(credentials[1]),
            tls);
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Uri))
        {
            yield break;
        }

        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps") || uri.Host.Length == 0)
        {
            yield return new ValidationResult("RabbitMq:Uri must look like amqp://user:password@host:5672/vhost (amqps:// for TLS).", [nameof(Uri)]);
        }
        else if (uri.AbsolutePath.Trim('/').Contains('/'))
        {
            yield return new ValidationResult("RabbitMq:Uri names one virtual host: escape a '/' in it as %2F.", [nameof(Uri)]);
        }
    }

    // The generated record ToString would print the password, and the URI that may carry it.
    private bool PrintMembers(StringBuilder builder)
    {
        var endpoint = Endpoint();
        builder.Append($"Host = {endpoint.Host}, Port = {endpoint.Port}, VirtualHost = {endpoint.VirtualHost}, ");
        builder.Append($"Username = {endpoint.Username}, Password = ***, UseTls = {endpoint.UseTls}");
        return true;
    }
}

/// <summary>A broker to connect to, however it was configured.</summary>
internal sealed record RabbitMqEndpoint(string Host, int Port, string VirtualHost, string Username, string Password, bool UseTls)
{
    public override string ToString() => $"{(UseTls ? "amqps" : "amqp")}://{Username}@{Host}:{Port}/{Uri.EscapeDataString(VirtualHost)}";
}
