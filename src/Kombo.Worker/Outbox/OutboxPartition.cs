using System.Text;

namespace Kombo.Worker.Outbox;

/// <summary>
/// Which partition an outbox row belongs to. All rows of one ordering key (one end user) share a partition, and a
/// partition has one publishing instance at a time, which keeps each end user's events in commit order across
/// instances. The function is FNV-1a over the key's UTF-8 bytes: stable across processes, machines and versions, as
/// it must be for rows already written.
/// </summary>
internal static class OutboxPartition
{
    public const int Count = 16;

    /// <param name="orderingKey">The row's ordering key; rows without one have no order to keep and spread by message id.</param>
    public static int Of(string? orderingKey, Guid messageId)
    {
        var hash = 2166136261u;
        if (orderingKey is null)
        {
            Span<byte> id = stackalloc byte[16];
            messageId.TryWriteBytes(id);
            foreach (var b in id)
            {
                hash = (hash ^ b) * 16777619u;
            }
        }
        else
        {
            Span<byte> buffer = stackalloc byte[256];
            var bytes = Encoding.UTF8.GetByteCount(orderingKey) <= buffer.Length ? buffer : new byte[Encoding.UTF8.GetByteCount(orderingKey)];
            var length = Encoding.UTF8.GetBytes(orderingKey, bytes);
            foreach (var b in bytes[..length])
            {
                hash = (hash ^ b) * 16777619u;
            }
        }

        return (int)(hash % Count);
    }
}
