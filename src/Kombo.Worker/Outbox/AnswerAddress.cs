using MassTransit;

namespace Kombo.Worker.Outbox;

/// <summary>Where a command's answer goes besides its event: what MassTransit's context said when it arrived.</summary>
internal sealed record AnswerAddress(Guid? ConversationId, Guid? RequestId, Uri? ResponseAddress)
{
    public static AnswerAddress Of(ConsumeContext context) => new(context.ConversationId, context.RequestId, context.ResponseAddress);
}
