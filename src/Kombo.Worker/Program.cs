using Kombo.Worker.Hosting;
using Kombo.Worker.Tools;

if (args is ["outbox", ..])
{
    return OutboxTool.Run(args[1..]);
}

var app = WorkerHost.CreateBuilder(args).Build();
await app.RunAsync();
return 0;
