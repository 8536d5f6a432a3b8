namespace Kombo.Worker.Storage;

/// <summary>
/// Stops the worker if the database writer dies: nothing could be committed any more, and the orchestrator's restart
/// is the only way back. Readiness already fails meanwhile, because its probe write fails.
/// </summary>
internal sealed partial class DatabaseWriterWatchdog(
    IDatabaseWriter writer, ILogger<DatabaseWriterWatchdog> logger, IHostApplicationLifetime? lifetime = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Exception cause;
        try
        {
            cause = await writer.StoppedAbnormally.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        LogWriterDied(cause);
        Environment.ExitCode = 1;
        lifetime?.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The database writer stopped unexpectedly; the worker stops so that it is restarted")]
    private partial void LogWriterDied(Exception exception);
}
