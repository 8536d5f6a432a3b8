using MassTransit;

namespace Kombo.Worker.Messaging;

/// <summary>
/// Turns away a command whose body is larger than <see cref="MessagingOptions.MaxMessageBytes"/> or whose content type
/// is not JSON, before its consumer runs. (A message of a type this queue does not consume never reaches this filter:
/// <see cref="UnconsumedMessageFilter{TCommand}"/> handles it.)
/// </summary>
/// <remarks>
/// Such a message is not answered with <c>invalid_request</c>: nothing in it, not even its correlation id, is used.
/// It throws <see cref="UnacceptableMessageException"/>, which no retry handles, so MassTransit moves it to the queue's
/// <c>_error</c> queue at once with the reason in <c>MT-Fault-Message</c>. The broker's <c>max_message_size</c> bounds
/// what arrives at all.
/// </remarks>
internal sealed class CommandIntakeFilter<TCommand>(int maxMessageBytes) : IFilter<ConsumeContext>
    where TCommand : class
{
    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        if (Problem(context, maxMessageBytes) is { } problem)
        {
            throw new UnacceptableMessageException(problem);
        }

        return next.Send(context);
    }

    public void Probe(ProbeContext context) =>
        context.CreateFilterScope("commandIntake").Add("maxMessageBytes", maxMessageBytes);

    internal static string? Problem(ConsumeContext context, int maxMessageBytes)
    {
        var body = context.ReceiveContext.Body;
        var size = body.Length ?? body.GetBytes().Length;
        if (size > maxMessageBytes)
        {
            return $"The message body is {size} bytes; a {typeof(TCommand).Name} is at most {maxMessageBytes} bytes (Messaging:MaxMessageBytes).";
        }

        var contentType = context.ReceiveContext.ContentType?.MediaType;
        return string.IsNullOrEmpty(contentType) || IsJson(contentType)
            ? null
            : $"Content type '{contentType}' is not accepted: send JSON (application/json, or MassTransit's envelope).";
    }

    private static bool IsJson(string mediaType) =>
        mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase)
            && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
}

/// <summary>A message that is not a command of its queue at all; it goes to the error queue, never retried.</summary>
internal sealed class UnacceptableMessageException(string message) : Exception(message);
