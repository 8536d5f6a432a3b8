using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Kombo.Testing;

/// <summary>
/// Kombo's <c>X-Kombo-Signature</c> as the emulator sends it: HMAC-SHA256 of the raw body bytes keyed with the UTF-8
/// secret, base64url without padding. For tests that post webhooks by hand or check the emulator's.
/// </summary>
public static class KomboWebhookSignature
{
    public const string Header = "X-Kombo-Signature";

    public static string Sign(string secret, ReadOnlySpan<byte> body)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
        return Base64Url.EncodeToString(mac);
    }
}
