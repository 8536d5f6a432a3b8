namespace Kombo.Worker.Tests.Support;

/// <summary>The directory holding Kombo.Worker.sln, found from the test assembly's folder.</summary>
internal static class RepositoryRoot
{
    private static readonly Lazy<string> Found = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Kombo.Worker.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Kombo.Worker.sln above {AppContext.BaseDirectory}.");
    });

    public static string Path => Found.Value;
}
