using Polly;

namespace Kombo.Worker.KomboApi;

/// <summary>One client call across its attempts; rides in the Polly context so the strategies can read it.</summary>
internal sealed class KomboCall(string endpoint, DateTimeOffset deadline, CancellationToken callerToken)
{
    public static readonly ResiliencePropertyKey<KomboCall> Key = new("kombo.call");

    /// <summary>A name safe to log: never the path, which can hold a token.</summary>
    public string Endpoint { get; } = endpoint;

    /// <summary>When the total timeout will cut the call.</summary>
    public DateTimeOffset Deadline { get; } = deadline;

    public CancellationToken CallerToken { get; } = callerToken;

    public int Attempts { get; set; }

    public KomboError? LastError { get; set; }

    /// <summary>
    /// Whether an attempt may have been carried out by Kombo although its answer was lost: it timed out or broke after
    /// the request left, or a gateway answered 500, 502 or 504. A refused connection, 429 and 503 prove nothing ran.
    /// </summary>
    public bool MayHaveTakenEffect { get; set; }
}
