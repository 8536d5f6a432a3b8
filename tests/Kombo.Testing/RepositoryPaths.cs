namespace Kombo.Testing;

/// <summary>Where the repository and its build output are, found from this assembly or the current directory.</summary>
public static class RepositoryPaths
{
    private const string SolutionFile = "Kombo.Worker.sln";

    /// <summary>Overrides the artifacts root (the <c>--artifacts-path</c> of the build that produced the binaries).</summary>
    public const string ArtifactsVariable = "KOMBO_ARTIFACTS_PATH";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The directory holding Kombo.Worker.sln (and the top-level appsettings.json).</summary>
    public static string Root => LazyRoot.Value;

    /// <summary><c>$KOMBO_ARTIFACTS_PATH</c> when set, else the repository's own <c>artifacts</c> folder.</summary>
    public static string DefaultArtifactsPath =>
        Environment.GetEnvironmentVariable(ArtifactsVariable) is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(Root, "artifacts");

    /// <summary>
    /// The main assembly of a project built with <c>UseArtifactsOutput</c>:
    /// <c>&lt;artifacts&gt;/bin/&lt;Project&gt;/&lt;configuration, lower case&gt;/&lt;Project&gt;.dll</c>.
    /// </summary>
    public static string BuiltAssembly(string project, string configuration, string? artifactsPath = null) =>
        Path.Combine(artifactsPath ?? DefaultArtifactsPath, "bin", project, configuration.ToLowerInvariant(), project + ".dll");

    public static string ProjectFile(string project) => Path.Combine(Root, "src", project, project + ".csproj");

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException(
            $"No {SolutionFile} found above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}: " +
            "Kombo.Testing must run from a clone of the repository.");
    }
}
