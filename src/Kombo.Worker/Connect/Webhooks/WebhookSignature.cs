using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// Kombo's <c>X-Kombo-Signature</c>: HMAC-SHA256 of the raw request body, keyed with the webhook secret, in base64url.
/// </summary>
internal static class WebhookSignature
{
    public const string Header = "X-Kombo-Signature";

    public static string Compute(string secret, ReadOnlySpan<byte> body)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
        return Base64Url.EncodeToString(mac);
    }

    public static bool IsValid(string secret, ReadOnlySpan<byte> body, string? signature) =>
        IsValid(Encoding.UTF8.GetBytes(secret), body, signature);

    public static bool IsValid(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> body, string? signature)
    {
        if (secret.IsEmpty)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, body, expected);
        return Matches(expected, signature);
    }

    /// <summary>
    /// Compares in constant time, so the answer's timing tells nothing about how much of a forged signature was right.
    /// Padding is optional, as base64url allows.
    /// </summary>
    /// <param name="expected">The HMAC of the body, computed as it arrived.</param>
    public static bool Matches(ReadOnlySpan<byte> expected, string? signature)
    {
        if (expected.IsEmpty || string.IsNullOrEmpty(signature) || signature.Length > 128)
        {
            return false;
        }

        var encoded = signature.AsSpan().TrimEnd('=');
        Span<byte> given = stackalloc byte[96];
        if (!Base64Url.IsValid(encoded)
            || Base64Url.DecodeFromChars(encoded, given, out _, out var length) != OperationStatus.Done)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given[..length]);
    }
}
