using System.Diagnostics;

namespace Kombo.Testing;

/// <summary>Builds a project of the repository into a chosen artifacts root, so parallel builds never collide.</summary>
public static class DotnetBuild
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>
    /// Returns the path of the project's built assembly, building it first when it is missing (or always, with
    /// <paramref name="force"/>). Throws with the build output if the build fails or takes longer than 10 minutes.
    /// </summary>
    public static async Task<string> EnsureBuiltAsync(
        string project, string configuration = "Release", string? artifactsPath = null, bool force = false,
        CancellationToken cancellationToken = default)
    {
        var artifacts = artifactsPath ?? RepositoryPaths.DefaultArtifactsPath;
        var assembly = RepositoryPaths.BuiltAssembly(project, configuration, artifacts);
        await OneAtATime.WaitAsync(cancellationToken);
        try
        {
            if (!force && File.Exists(assembly))
            {
                return assembly;
            }

            var startInfo = new ProcessStartInfo("dotnet") { WorkingDirectory = RepositoryPaths.Root };
            foreach (var argument in new[]
                     {
                         "build", RepositoryPaths.ProjectFile(project), "-c", configuration, "--artifacts-path", artifacts,
                         "--nologo", "-v", "quiet", "-nodeReuse:false", "--disable-build-servers",
                     })
            {
                startInfo.ArgumentList.Add(argument);
            }

            // Build servers would keep the output pipes open after the build ends.
            startInfo.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            startInfo.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
            startInfo.Environment["DOTNET_NOLOGO"] = "1";
            var log = Path.Combine(Path.GetTempPath(), $"kombo-build-{project}-{Environment.ProcessId}.log");
            await using var build = ManagedProcess.Start($"dotnet build {project}", startInfo, log);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(10));
            int code;
            try
            {
                code = await build.Exited.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await build.KillAsync();
                throw new TimeoutException($"dotnet build {project} did not finish within 10 minutes.{build.Describe()}");
            }

            if (code != 0 || !File.Exists(assembly))
            {
                throw new InvalidOperationException(
                    $"dotnet build {project} -c {configuration} --artifacts-path {artifacts} failed (exit code {code}) " +
                    $"or did not produce {assembly}.{build.Describe()}");
            }

            File.Delete(log);
            return assembly;
        }
        finally
        {
            OneAtATime.Release();
        }
    }
}
