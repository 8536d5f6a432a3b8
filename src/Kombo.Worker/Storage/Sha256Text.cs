using System.Security.Cryptography;
using System.Text;

namespace Kombo.Worker.Storage;

/// <summary>SHA-256 of a credential's text, lower-case hex: all the worker keeps of a token, and a link's fingerprint.</summary>
internal static class Sha256Text
{
    public static string Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
