using Kombo.Worker.ErrorQueues;
using Kombo.Worker.Hosting;
using Kombo.Worker.Messaging;
using Kombo.Worker.OutboxTool;
using Kombo.Worker.Storage;

if (args is ["outbox", ..])
{
    return OutboxToolCommand.Run(args[1..]);
}

if (args is ["errors", ..])
{
    return await ErrorQueueTool.RunAsync(args[1..]);
}

var app = WorkerHost.CreateBuilder(args).Build();
if (ConfigurationCheck.Problems(app.Services) is { Count: > 0 } problems)
{
    foreach (var problem in problems)
    {
        Console.Error.WriteLine($"configuration: {problem}");
    }

    return 1;
}

if (await BrokerTlsCheck.ProblemAsync(app.Services, CancellationToken.None) is { } brokerProblem)
{
    Console.Error.WriteLine($"broker: {brokerProblem}");
    return 1;
}

app.MapWorkerEndpoints();
var writer = app.Services.GetRequiredService<IDatabaseWriter>();
await app.RunAsync();

// A non-zero exit, so the orchestrator sees a failure rather than a clean stop.
return writer.StoppedAbnormally.IsCompleted ? 1 : 0;
