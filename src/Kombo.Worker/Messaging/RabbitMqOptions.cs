using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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

    /// <summary>
    /// A PEM file with the CA certificate(s) the broker's certificate must chain to, for a broker whose CA the machine
    /// does not trust (a private CA); without it, the machine's trust store decides.
    /// </summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>What the bus connects to, from the URI when there is one.</summary>
    public RabbitMqEndpoint Endpoint()
    {
        if (string.IsNullOrWhiteSpace(Uri))
        {
            return new RabbitMqEndpoint(Host, Port, VirtualHost, Username, Password, UseTls, CaPath());
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
            tls,
            CaPath());
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        UriProblems().Concat(CaCertificateProblems());

    private IEnumerable<ValidationResult> UriProblems()
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

    private IEnumerable<ValidationResult> CaCertificateProblems()
    {
        if (CaPath() is not { } path)
        {
            yield break;
        }

        string? problem;
        try
        {
            problem = !IsTls()
                ? "is set, but the broker connection is not TLS: use an amqps:// RabbitMq:Uri (or RabbitMq:UseTls=true)"
                : CertificatesIn(path) == 0 ? $"'{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)" : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            problem = $"'{path}' cannot be read: {ex.Message}";
        }

        if (problem is not null)
        {
            yield return new ValidationResult($"RabbitMq:CaCertificatePath {problem}", [nameof(CaCertificatePath)]);
        }
    }

    private static int CertificatesIn(string path)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(path);
        foreach (var certificate in certificates)
        {
            certificate.Dispose();
        }

        return certificates.Count;
    }

    private string? CaPath() => string.IsNullOrWhiteSpace(CaCertificatePath) ? null : CaCertificatePath;

    private bool IsTls() => string.IsNullOrWhiteSpace(Uri)
        ? UseTls
        : System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) && uri.Scheme == "amqps";

    // The generated record ToString would print the password, and the URI that may carry it.
    private bool PrintMembers(StringBuilder builder)
    {
        var endpoint = Endpoint();
        builder.Append($"Host = {endpoint.Host}, Port = {endpoint.Port}, VirtualHost = {endpoint.VirtualHost}, ");
        builder.Append($"Username = {endpoint.Username}, Password = ***, UseTls = {endpoint.UseTls}, CaCertificatePath = {endpoint.CaCertificatePath}");
        return true;
    }
}

/// <summary>A broker to connect to, however it was configured, and the CA its TLS certificate must chain to.</summary>
internal sealed record RabbitMqEndpoint(
    string Host, int Port, string VirtualHost, string Username, string Password, bool UseTls, string? CaCertificatePath = null)
{
    public override string ToString() => $"{(UseTls ? "amqps" : "amqp")}://{Username}@{Host}:{Port}/{Uri.EscapeDataString(VirtualHost)}";
}
