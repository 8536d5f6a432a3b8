using Kombo.Worker.Outbox;
using MassTransit;

namespace Kombo.Worker.Messaging;

/// <summary>The id a command is deduplicated by.</summary>
internal static class CommandIdentity
{
    /// <summary>
    /// The transport message id, or, for a plain-JSON publisher that sent none, an id derived from the command's
    /// correlation id so that its redeliveries still deduplicate.
    /// </summary>
    /// <remarks>
    /// A command with neither id cannot be deduplicated, and is always refused (the correlation id is required): it
    /// gets an id of its own, so that it is answered rather than taken for an earlier command without ids.
    /// </remarks>
    public static Guid Of(ConsumeContext context, Guid correlationId, string commandType) =>
        context.MessageId
        ?? (correlationId == Guid.Empty ? NewId.NextGuid() : MessageIds.Derive(correlationId, "command:" + commandType));
}
