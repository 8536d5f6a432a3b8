using System.Security.Cryptography;
using System.Text;
using Kombo.Worker.Connect.Webhooks;

namespace Kombo.Worker.Tests.Connect.Webhooks;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec-test-secret";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt1","type":"integration-created","data":{}}""");

    // Computed independently of the code under test: HMAC-SHA256 over the body, base64url without padding.
    private static string Expected(string secret, byte[] body) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [Fact]
    public void Signature_is_base64url_hmac_sha256_of_the_raw_body()
    {
        Assert.Equal(Expected(Secret, Body), WebhookSignature.Compute(Secret, Body));
    }

    [Fact]
    public void Valid_signature_is_accepted_with_or_without_padding()
    {
        var unpadded = Expected(Secret, Body);
        Assert.True(WebhookSignature.IsValid(Secret, Body, unpadded));
        Assert.True(WebhookSignature.IsValid(Secret, Body, unpadded + "="));
    }

    [Fact]
    public void Tampered_body_is_refused()
    {
        var tampered = Body.ToArray();
        tampered[^3] ^= 0x01;
        Assert.False(WebhookSignature.IsValid(Secret, tampered, Expected(Secret, Body)));
    }

    [Fact]
    public void Signature_made_with_another_secret_is_refused()
    {
        Assert.False(WebhookSignature.IsValid(Secret, Body, Expected("another-secret", Body)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64url!")]
    [InlineData("AAAA")]
    public void Missing_or_malformed_signature_is_refused(string? signature)
    {
        Assert.False(WebhookSignature.IsValid(Secret, Body, signature));
    }

    [Fact]
    public void Standard_base64_of_the_right_mac_is_not_base64url_and_is_refused_when_it_differs()
    {
        var standard = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Body));
        var expectedValid = !standard.Contains('+') && !standard.Contains('/');
        Assert.Equal(expectedValid, WebhookSignature.IsValid(Secret, Body, standard));
    }

    [Fact]
    public void Without_a_secret_nothing_is_valid()
    {
        Assert.False(WebhookSignature.IsValid("", Body, Expected("", Body)));
    }
}
