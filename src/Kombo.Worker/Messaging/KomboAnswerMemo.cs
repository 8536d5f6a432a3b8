using MassTransit;

namespace Kombo.Worker.Messaging;

/// <summary>
/// Keeps what Kombo answered for the life of one delivery. The storage retry of
/// <see cref="CommandConsumerDefinition{TConsumer, TCommand}"/> runs the whole consumer again; with the answer kept on
/// the delivery it commits what it already has instead of asking Kombo again, which for a single-use connect token
/// would turn a connection that succeeded into "invalid token", and for create-link would mint a second link.
/// </summary>
/// <remarks>
/// The delivery (MassTransit's receive context) is shared by every retry attempt of the message, as the Kombo failure
/// count of <see cref="KomboRedeliveries.IsLastAttempt"/> is; a thrown call (Kombo unavailable) keeps nothing.
/// </remarks>
internal static class KomboAnswerMemo
{
    public static async Task<T> OnceAsync<T>(ConsumeContext context, Func<Task<T>> call)
        where T : class
    {
        var memo = context.ReceiveContext.GetOrAddPayload(() => new Kept<T>());
        if (memo.Value is { } kept)
        {
            return kept;
        }

        var answer = await call();
        memo.Value = answer;
        return answer;
    }

    /// <summary>Whether this delivery already holds an answer of that type (a retry of a consumer that got one).</summary>
    public static bool Holds<T>(ConsumeContext context)
        where T : class =>
        context.ReceiveContext.TryGetPayload<Kept<T>>(out var memo) && memo.Value is not null;

    private sealed class Kept<T>
        where T : class
    {
        public T? Value { get; set; }
    }
}
