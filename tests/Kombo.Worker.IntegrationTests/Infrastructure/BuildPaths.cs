using System.Runtime.CompilerServices;
using Kombo.Testing;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Where the repository and this build's output are. Tests built with <c>--artifacts-path</c> outside the clone run
/// from there, so the root is found from this source file's compile-time path, not from the test assembly.
/// </summary>
public static class BuildPaths
{
    public const string RootVariable = "KOMBO_REPOSITORY_ROOT";

    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The artifacts root this test assembly was built into: <c>&lt;artifacts&gt;/bin/&lt;project&gt;/&lt;config&gt;/</c>.</summary>
    public static string ArtifactsRoot =>
        Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", ".."));

    /// <summary>The configuration pivot of this build (<c>debug</c> or <c>release</c>), which the worker was built with too.</summary>
    public static string Configuration =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    private static string FindRoot([CallerFilePath] string thisFile = "")
    {
        if (Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        var fromSource = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile) ?? ".", "..", "..", ".."));
        return File.Exists(Path.Combine(fromSource, "Kombo.Worker.sln")) ? fromSource : Kombo.Testing.RepositoryPaths.Root;
    }
}
