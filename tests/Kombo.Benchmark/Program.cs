using Kombo.Benchmark;
using Kombo.Testing;

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (HelpRequestedException)
{
    Console.WriteLine(BenchmarkOptions.Usage);
    return 0;
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"benchmark: {ex.Message}{Environment.NewLine}{BenchmarkOptions.Usage}");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C stops the run and everything it started; a second one ends the process at once.
    if (!stop.IsCancellationRequested)
    {
        e.Cancel = true;
        Console.Error.WriteLine("benchmark: stopping ...");
        stop.Cancel();
    }
};

var progress = Console.Error;
var artifacts = options.ArtifactsPath ?? ArtifactsOfThisBuild() ?? RepositoryPaths.DefaultArtifactsPath;
var results = new List<RunResult>();
await using (var runner = new BenchmarkRunner(options, artifacts, progress))
{
    try
    {
        await runner.StartAsync(stop.Token);
        // In rounds, each configuration once per round: the machine's drift spreads over all of them alike.
        for (var run = 1; run <= options.Runs; run++)
        {
            foreach (var configuration in options.Configurations)
            {
                var result = await runner.RunAsync(configuration, run, stop.Token);
                results.Add(result);
                var line = result.ToJsonLine();
                Console.WriteLine(line);
                if (options.JsonOut is { } file)
                {
                    await File.AppendAllTextAsync(file, line + Environment.NewLine, CancellationToken.None);
                }
            }
        }
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
        progress.WriteLine("benchmark: stopped before the end");
    }
}

if (results.Count > 1)
{
    Console.WriteLine();
    Console.WriteLine(ResultsTable.Render(results));
}

return results.Count > 0 && results.All(r => r.Lost == 0) ? 0 : 1;

// Built with --artifacts-path X, this program lives in X/bin/Kombo.Benchmark/<config>/: build the worker into X too.
static string? ArtifactsOfThisBuild()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
    return directory.Parent?.Name == "Kombo.Benchmark" && directory.Parent.Parent?.Name == "bin"
        ? directory.Parent.Parent.Parent?.FullName
        : null;
}
