namespace Kombo.Worker.KomboApi;

/// <summary>
/// The client's log lines. They carry the endpoint name, status, code and attempt number only: never the API
/// key, a token, a link or a URL.
/// </summary>
internal static partial class KomboClientLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Kombo {Endpoint} succeeded on attempt {Attempt}")]
    public static partial void Succeeded(ILogger logger, string endpoint, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kombo {Endpoint} attempt {Attempt} failed with HTTP {HttpStatus} {Code} (transient: {Transient})")]
    public static partial void AttemptFailed(ILogger logger, string endpoint, int attempt, int? httpStatus, string? code, bool transient);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kombo {Endpoint} attempt {Attempt} failed: {Failure}")]
    public static partial void AttemptThrew(ILogger logger, string endpoint, int attempt, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kombo rejected {Endpoint} with HTTP {HttpStatus} {Code}")]
    public static partial void Rejected(ILogger logger, string endpoint, int? httpStatus, string? code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kombo unavailable for {Endpoint} after {Attempts} attempt(s): {Reason}")]
    public static partial void Unavailable(ILogger logger, string endpoint, int attempts, string reason);
}
