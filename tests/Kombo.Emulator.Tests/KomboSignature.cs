using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Kombo.Emulator.Tests;

/// <summary>
/// <c>X-Kombo-Signature</c> as Kombo documents it, written out here so the emulator's signatures are checked against
/// the definition and not against the emulator's own signer: HMAC-SHA256 of the raw body, keyed with the secret, base64url.
/// </summary>
internal static class KomboSignature
{
    public static string Compute(string secret, ReadOnlySpan<byte> body) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
