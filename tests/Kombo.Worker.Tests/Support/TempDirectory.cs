namespace Kombo.Worker.Tests.Support;

/// <summary>A folder of the test's own, so tests run in parallel on their own SQLite files.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("kombo-worker-tests-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A pooled SQLite handle may still be closing; the OS cleans temp folders.
        }
    }
}
