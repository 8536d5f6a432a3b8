using MassTransit;
using MassTransit.Middleware.Rescue;
using MassTransit.Transports;

namespace Kombo.Worker.Messaging;

/// <summary>
/// The dead-letter pipe of a command queue: a message no consumer took (its envelope names a message type this queue
/// does not consume) goes to the <c>_error</c> queue with the reason in <c>MT-Fault-Message</c>, like every other
/// message that is not a command, instead of to MassTransit's <c>_skipped</c> queue without one.
/// </summary>
internal sealed class UnconsumedMessageFilter<TCommand> : IFilter<ReceiveContext>
    where TCommand : class
{
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        var reason = new UnacceptableMessageException(
            $"This queue takes {MessageUrn.ForTypeString<TCommand>()}; no consumer here takes the message type its envelope names.");

        if (context.TryGetPayload(out IErrorTransport? errorTransport))
        {
            await errorTransport.Send(new RescueExceptionReceiveContext(context, reason));
            return;
        }

        await context.GetPayload<IDeadLetterTransport>().Send(context, reason.Message);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("unconsumedToErrorQueue");
}
