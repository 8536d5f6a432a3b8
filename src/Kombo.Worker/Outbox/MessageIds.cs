using System.Security.Cryptography;
using System.Text;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Event ids derived from the command's id (a name-based UUID, RFC 9562 version 5), so two workers that both handle
/// a redelivered command write the same event id and subscribers can deduplicate.
/// </summary>
internal static class MessageIds
{
    private static readonly Guid Namespace = new("6f1c6a4e-3b7e-4f0e-9a55-0c1d2e3f4a5b");

    public static Guid Derive(Guid source, string purpose)
    {
        Span<byte> input = stackalloc byte[16 + 16 + Encoding.UTF8.GetMaxByteCount(purpose.Length)];
        Namespace.TryWriteBytes(input, bigEndian: true, out _);
        source.TryWriteBytes(input[16..], bigEndian: true, out _);
        var length = 32 + Encoding.UTF8.GetBytes(purpose, input[32..]);

        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(input[..length], hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
