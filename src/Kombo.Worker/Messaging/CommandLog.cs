namespace Kombo.Worker.Messaging;

/// <summary>Log lines both consumers write. Ids, reasons and codes only: never a token, link or key.</summary>
internal static partial class CommandLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Command {CommandId} was already handled; acknowledged without effect")]
    public static partial void Duplicate(ILogger logger, Guid commandId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Command {CommandId} failed: {Reason} (Kombo code {KomboCode}, HTTP {HttpStatus})")]
    public static partial void Failed(ILogger logger, Guid commandId, string reason, string? komboCode, int? httpStatus);

    // A message-template scope: structured providers get the CorrelationId property, and the console prints
    // "CorrelationId <id>" (a dictionary scope printed as its type name).
    public static IDisposable? BeginCommandScope(this ILogger logger, Guid correlationId) =>
        logger.BeginScope("CorrelationId {CorrelationId}", correlationId);
}
