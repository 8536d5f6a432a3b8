using Kombo.Worker.Hosting;

var app = WorkerHost.CreateBuilder(args).Build();
await app.RunAsync();
