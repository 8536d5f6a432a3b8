namespace Kombo.Worker.KomboApi;

/// <summary>Kombo's answer to one call: the data on success, else the permanent error Kombo gave.</summary>
/// <remarks>
/// Transient failures never show up here: the client retries them and, once its budget is spent or the
/// circuit is open, throws <see cref="KomboUnavailableException"/> so that message redelivery takes over.
/// </remarks>
internal sealed record KomboResult<T>(T? Value, KomboError? Error)
    where T : class
{
    public bool IsSuccess => Error is null;

    /// <summary>
    /// HTTP attempts the call made. More than one means an earlier attempt failed in a way (a timeout, a dropped
    /// connection, a 5xx) that does not prove Kombo did not act on it.
    /// </summary>
    public int Attempts { get; init; } = 1;

    public static KomboResult<T> Success(T value) => new(value, null);

    public static KomboResult<T> Failure(KomboError error) => new(null, error);
}

/// <summary>
/// Kombo's error body (<c>{"status":"error","error":{code,title,message,log_url}}</c>) with the HTTP status.
/// Every field but <see cref="Message"/> may be missing: bodies are parsed defensively.
/// </summary>
internal sealed record KomboError(int? HttpStatus, string? Code, string? Title, string Message, string? LogUrl);

/// <summary>Kombo stayed unreachable, slow or overloaded through the whole retry budget, or the circuit is open.</summary>
internal sealed class KomboUnavailableException(string message, KomboError? lastError = null, Exception? inner = null, bool mayHaveTakenEffect = true)
    : Exception(message, inner)
{
    public KomboError? LastError { get; } = lastError;

    /// <summary>False only when no request can have been carried out (see <see cref="KomboCall.MayHaveTakenEffect"/>).</summary>
    public bool MayHaveTakenEffect { get; } = mayHaveTakenEffect;
}
