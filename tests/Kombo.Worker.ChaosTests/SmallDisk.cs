using System.Diagnostics;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// A small tmpfs of the test's own that can be filled to the last byte and freed again: disk full on demand. Mounting
/// needs root (CAP_SYS_ADMIN); so does the chaos suite. A read-only directory would not do: root writes through it.
/// </summary>
public sealed class SmallDisk : IAsyncDisposable
{
    private const string Filler = ".chaos-filler";

    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static async Task<SmallDisk> MountAsync(int megabytes = 64)
    {
        var path = Directory.CreateTempSubdirectory("kombo-chaos-disk-").FullName;
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0755", "kombo-chaos", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException(
                $"Could not mount a {megabytes} MiB tmpfs at {path} (exit code {code}): {output.Trim()}. " +
                "The disk-trouble chaos scenario fills a file system of its own: run the tests as root (or with CAP_SYS_ADMIN).");
        }

        return new SmallDisk(path);
    }

    /// <summary>
    /// Writes a filler file until the file system refuses another byte, then gives back
    /// <paramref name="leaveFree"/> bytes of it.
    /// </summary>
    public void Fill(int leaveFree = 0)
    {
        var chunk = new byte[1024 * 1024];
        using var filler = new FileStream(System.IO.Path.Combine(Path, Filler), FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        try
        {
            while (true)
            {
                filler.Write(chunk);
            }
        }
        catch (IOException)
        {
            // Full to the megabyte; now the last bytes.
        }

        try
        {
            while (true)
            {
                filler.Write(chunk, 0, 512);
            }
        }
        catch (IOException)
        {
            // Full.
        }

        if (leaveFree > 0)
        {
            filler.SetLength(Math.Max(0, filler.Length - leaveFree));
        }
    }

    public void Free() => File.Delete(System.IO.Path.Combine(Path, Filler));

    public async ValueTask DisposeAsync()
    {
        var (code, _) = await RunAsync("umount", Path);
        if (code != 0)
        {
            // Something still holds a file open: detach now, the kernel unmounts once it is closed.
            await RunAsync("umount", "-l", Path);
        }

        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
            // Lazily unmounted and still busy; /tmp is cleaned eventually.
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string command, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {command}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
