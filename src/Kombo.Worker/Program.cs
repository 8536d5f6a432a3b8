using Kombo.Worker.ErrorQueues;
using Kombo.Worker.Hosting;
using Kombo.Worker.Tools;

if (args is ["outbox", ..])
{
    return OutboxTool.Run(args[1..]);
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

await app.RunAsync();
return 0;
