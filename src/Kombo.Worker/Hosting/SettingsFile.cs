namespace Kombo.Worker.Hosting;

/// <summary>
/// Finds the one appsettings.json the worker reads: the repository's top-level file when run from a clone, the file
/// beside the binary in a container.
/// </summary>
internal static class SettingsFile
{
    public const string Name = "appsettings.json";

    public static string LocateDirectory()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, Name)))
                {
                    return directory.FullName;
                }
            }
        }

        throw new FileNotFoundException(
            $"No {Name} found in {Directory.GetCurrentDirectory()}, {AppContext.BaseDirectory} or their parents. " +
            "Run the worker from the repository (or next to its appsettings.json).");
    }

    /// <summary>
    /// The settings as the worker reads them (appsettings.json, the environment's file, environment variables), for
    /// the operator tools that run beside it without a host.
    /// </summary>
    public static IConfiguration Read(string directory)
    {
        var environmentName = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? Environments.Production;
        return new ConfigurationBuilder()
            .SetBasePath(directory)
            .AddJsonFile(Name, optional: false)
            .AddJsonFile($"appsettings.{environmentName}.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
    }
}
