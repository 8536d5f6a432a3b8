using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Kombo.Emulator.Webhooks;

/// <summary><c>X-Kombo-Signature</c>: HMAC-SHA256 of the exact body bytes, keyed with the UTF-8 secret, base64url without padding.</summary>
public static class WebhookSignature
{
    public const string Header = "X-Kombo-Signature";

    public static string Sign(string secret, ReadOnlySpan<byte> body)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
        return Base64Url.EncodeToString(mac);
    }
}
