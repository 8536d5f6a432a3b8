using MassTransit;

namespace Kombo.Worker.Messaging;

/// <summary>How many times a command whose Kombo call failed is delivered again (<see cref="MessagingOptions.KomboRedeliveryIntervals"/>).</summary>
internal static class KomboRedeliveries
{
    /// <summary>
    /// Records one Kombo failure of this delivery and says whether it was the last one allowed: the attempt that must
    /// answer rather than throw. Call it once per failure (from the consumer's catch).
    /// </summary>
    /// <remarks>
    /// The failures are counted on the delivery itself, not read from MassTransit's retry attempt: the storage retry
    /// around the Kombo retry (see <see cref="CommandConsumerDefinition{TConsumer, TCommand}"/>) restarts the Kombo
    /// retry, whose first attempt then reports the storage retry's count.
    /// </remarks>
    public static bool IsLastAttempt(ConsumeContext context, MessagingOptions options) =>
        context.ReceiveContext.GetOrAddPayload(() => new KomboFailures()).Record() > options.EffectiveKomboRedeliveryIntervals.Count;

    private sealed class KomboFailures
    {
        private int _count;

        public int Record() => Interlocked.Increment(ref _count);
    }
}
