using Kombo.Worker.Operations;
using Polly;
using Polly.CircuitBreaker;
using Polly.Telemetry;

namespace Kombo.Worker.KomboApi;

/// <summary>
/// Turns the Kombo resilience pipeline's own telemetry events into the worker's metrics: one count per call with its
/// final outcome, one per retry, and the circuit breaker's state. Nothing here runs on the path of a command beyond
/// what Polly already raises.
/// </summary>
internal sealed class KomboPipelineListener(WorkerMetrics metrics) : TelemetryListener
{
    public override void Write<TResult, TArgs>(in TelemetryEventArguments<TResult, TArgs> args)
    {
        if (args.Source.PipelineName != KomboPipeline.Name)
        {
            return;
        }

        switch (args.Event.EventName)
        {
            case "OnRetry":
                metrics.KomboRetried(EndpointOf(args.Context), OutcomeOf(args.Outcome));
                break;
            case "OnCircuitOpened":
                metrics.CircuitChanged(CircuitState.Open);
                break;
            case "OnCircuitHalfOpened":
                metrics.CircuitChanged(CircuitState.HalfOpen);
                break;
            case "OnCircuitClosed":
                metrics.CircuitChanged(CircuitState.Closed);
                break;
            default:
                if (args.Arguments is PipelineExecutedArguments executed)
                {
                    metrics.KomboCalled(EndpointOf(args.Context), OutcomeOf(args.Outcome), StatusOf(args.Outcome), executed.Duration);
                }

                break;
        }
    }

    private static string EndpointOf(ResilienceContext context) =>
        context.Properties.TryGetValue(KomboCall.Key, out var call) ? call.Endpoint : context.OperationKey ?? "unknown";

    private static string OutcomeOf<TResult>(Outcome<TResult>? outcome) => outcome switch
    {
        { Exception: { } exception } => KomboCallTelemetry.OutcomeOf(exception),
        { Result: KomboResponse response } => KomboCallTelemetry.OutcomeOf(response),
        _ => KomboCallTelemetry.Failed,
    };

    private static int? StatusOf<TResult>(Outcome<TResult>? outcome) =>
        outcome is { Result: KomboResponse response } ? response.HttpStatus : null;
}
