using System.Diagnostics;
using System.Diagnostics.Metrics;
using Polly.CircuitBreaker;

namespace Kombo.Worker.Operations;

/// <summary>The worker's own instruments, on the <see cref="MeterName"/> meter.</summary>
internal sealed class WorkerMetrics
{
    public const string MeterName = "Kombo.Worker";

    // Shared by the Kombo call span and the call metrics, so a dashboard and a trace name things alike.
    public const string KomboEndpointAttribute = "kombo.endpoint";
    public const string KomboOutcomeAttribute = "kombo.outcome";
    public const string HttpStatusAttribute = "http.response.status_code";

    private readonly Counter<long> _commands;
    private readonly Histogram<double> _relayLatency;
    private readonly Histogram<double> _confirmLatency;
    private readonly Histogram<double> _komboCallDuration;
    private readonly Counter<long> _published;
    private readonly Counter<long> _publishFailures;
    private readonly Counter<long> _parked;
    private readonly Histogram<long> _writesPerCommit;
    private readonly Counter<long> _komboCalls;
    private readonly Counter<long> _komboRetries;
    private readonly Counter<long> _circuitTransitions;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _webhooksRefused;
    private readonly Counter<long> _duplicateIntegrations;
    private readonly Counter<long> _apiKeyRejections;
    private int _circuitState = (int)CircuitState.Closed;

    public WorkerMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _commands = Meter.CreateCounter<long>("kombo.worker.commands", "{command}", "Commands handled, by command and outcome.");
        var relayBuckets = new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 5],
        };
        _relayLatency = Meter.CreateHistogram<double>("kombo.worker.outbox.relay_latency", "s",
            "Time from an outbox row's commit to the broker's confirm of its publish.", advice: relayBuckets);
        _confirmLatency = Meter.CreateHistogram<double>("kombo.worker.outbox.confirm_latency", "s",
            "Time from the start of an outbox row's publish to the broker's confirm: the broker's share of the relay latency.",
            advice: relayBuckets);
        _komboCallDuration = Meter.CreateHistogram<double>("kombo.worker.kombo.call.duration", "s",
            "Duration of a Kombo call, all its attempts and back-off included, by endpoint, outcome and final HTTP status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _published = Meter.CreateCounter<long>("kombo.worker.outbox.published", "{message}", "Outbox rows confirmed by the broker.");
        _publishFailures = Meter.CreateCounter<long>("kombo.worker.outbox.publish_failures", "{message}", "Failed publish attempts of outbox rows.");
        _parked = Meter.CreateCounter<long>("kombo.worker.outbox.parked", "{message}", "Outbox rows parked after too many failed attempts.");
        _writesPerCommit = Meter.CreateHistogram<long>("kombo.worker.storage.writes_per_commit", "{write}",
            "Write transactions grouped into one SQLite commit.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _komboCalls = Meter.CreateCounter<long>("kombo.worker.kombo.calls", "{call}",
            "Kombo calls (all attempts of one call count once), by endpoint, outcome and final HTTP status.");
        _komboRetries = Meter.CreateCounter<long>("kombo.worker.kombo.retries", "{retry}",
            "Retries of a Kombo call, by endpoint and the outcome of the attempt that was retried.");
        _circuitTransitions = Meter.CreateCounter<long>("kombo.worker.kombo.circuit_transitions", "{transition}",
            "Kombo circuit breaker state changes, by the state entered.");
        _webhooks = Meter.CreateCounter<long>("kombo.worker.webhooks", "{webhook}",
            "Webhooks received, by type (for those that were read) and outcome.");
        _webhooksRefused = Meter.CreateCounter<long>("kombo.worker.webhooks.refused", "{request}",
            "Requests and connections the webhook listener refused, by reason.");
        _duplicateIntegrations = Meter.CreateCounter<long>("kombo.worker.integrations.duplicates", "{integration}",
            "Integrations Kombo connected for an end user who already had that tool connected, by tool.");
        _apiKeyRejections = Meter.CreateCounter<long>("kombo.worker.kombo.api_key_rejections", "{check}",
            "Checks of the API key (GET /check-api-key) that Kombo refused, by HTTP status.");
        Meter.CreateObservableGauge("kombo.worker.kombo.circuit_state", () => Volatile.Read(ref _circuitState), "{state}",
            "Kombo circuit breaker state: 0 closed, 1 open, 2 half-open, 3 isolated.");
    }

    public Meter Meter { get; }

    public void CommandHandled(string command, string outcome) =>
        _commands.Add(1, new KeyValuePair<string, object?>("command", command), new KeyValuePair<string, object?>("outcome", outcome));

    public void Published(TimeSpan commitToConfirm, TimeSpan publishToConfirm)
    {
        _published.Add(1);
        _relayLatency.Record(commitToConfirm.TotalSeconds);
        _confirmLatency.Record(publishToConfirm.TotalSeconds);
    }

    public void PublishFailed() => _publishFailures.Add(1);

    public void Parked() => _parked.Add(1);

    public void Committed(int writes) => _writesPerCommit.Record(writes);

    /// <summary>One Kombo call, with the attribute names its span carries (never its path: a by-token path is a credential).</summary>
    public void KomboCalled(string endpoint, string outcome, int? httpStatus, TimeSpan duration)
    {
        var tags = new TagList { { KomboEndpointAttribute, endpoint }, { KomboOutcomeAttribute, outcome } };
        if (httpStatus is { } status)
        {
            tags.Add(HttpStatusAttribute, status);
        }

        _komboCalls.Add(1, tags);
        _komboCallDuration.Record(duration.TotalSeconds, tags);
    }

    public void KomboRetried(string endpoint, string outcome) =>
        _komboRetries.Add(1,
            new KeyValuePair<string, object?>(KomboEndpointAttribute, endpoint),
            new KeyValuePair<string, object?>(KomboOutcomeAttribute, outcome));

    /// <param name="type">The webhook's type, or null when it was refused before it was read.</param>
    public void WebhookReceived(string? type, string outcome) =>
        _webhooks.Add(1, new KeyValuePair<string, object?>("type", type ?? "unread"), new KeyValuePair<string, object?>("outcome", outcome));

    /// <param name="reason">connection_limit, too_slow, too_large, unauthorized or invalid.</param>
    public void WebhookRefused(string reason) => _webhooksRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void DuplicateIntegration(string tool) => _duplicateIntegrations.Add(1, new KeyValuePair<string, object?>("tool", tool));

    public void ApiKeyRejected(int? httpStatus) =>
        _apiKeyRejections.Add(1, new KeyValuePair<string, object?>("status", httpStatus));

    public void CircuitChanged(CircuitState state)
    {
        Volatile.Write(ref _circuitState, (int)state);
        _circuitTransitions.Add(1, new KeyValuePair<string, object?>("state", state switch
        {
            CircuitState.Open => "open",
            CircuitState.HalfOpen => "half_open",
            CircuitState.Isolated => "isolated",
            _ => "closed",
        }));
    }
}
