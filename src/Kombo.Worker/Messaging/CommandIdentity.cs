using Kombo.Worker.Outbox;
using MassTransit;

namespace Kombo.Worker.Messaging;

/// <summary>The id a command is deduplicated by.</summary>
public static class CommandIdentity
{
    /// <summary>
    /// The transport message id, or, for a plain-JSON publisher that sent none, an id derived from the command's
    /// correlation id so that its redeliveries still deduplicate.
    /// </summary>
    public static Guid Of(ConsumeContext context, Guid correlationId, string commandType) =>
        context.MessageId ?? MessageIds.Derive(correlationId, "command:" + commandType);
}
