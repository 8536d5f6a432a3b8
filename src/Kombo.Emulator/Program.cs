using Kombo.Emulator;

var app = EmulatorApp.Build(args);
await app.RunAsync();
