using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Kombo.Testing;

/// <summary>
/// One OS process this test run started: its stdout and stderr go to a log file and to an in-memory tail, its peak
/// resident memory is sampled, and it never outlives the run. Dispose kills it; so does the end of this process,
/// and a small watchdog kills it even when this process itself is killed with SIGKILL.
/// </summary>
public sealed partial class ManagedProcess : IAsyncDisposable
{
    private const int Sigterm = 15;
    private const int TailCapacity = 400;
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(15);

    // Started beside each child: kills it (SIGKILL) once the parent is gone, and ends when the child ends.
    private const string WatchdogScript = """
        exec </dev/null >/dev/null 2>&1
        while kill -0 "$KOMBO_PARENT" 2>/dev/null && kill -0 "$KOMBO_CHILD" 2>/dev/null; do sleep 1; done
        kill -0 "$KOMBO_PARENT" 2>/dev/null || kill -KILL "$KOMBO_CHILD" 2>/dev/null
        exit 0
        """;

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Timer _rssSampler;
    private Process? _watchdog;
    private long _peakRssKb;
    private int _disposed;

    private ManagedProcess(string name, Process process, StreamWriter log, string logFile)
    {
        Name = name;
        _process = process;
        _log = log;
        LogFile = logFile;
        _rssSampler = new Timer(_ => SampleRss(), null, Timeout.Infinite, Timeout.Infinite);
    }

    public string Name { get; }

    public int Pid { get; private set; }

    /// <summary>Where every line the process wrote goes (appended, each line prefixed with the stream).</summary>
    public string LogFile { get; }

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Completes with the exit code when the process exits.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>Peak resident set size (VmHWM from /proc) seen so far, in MB; sampled every 250 ms while it runs.</summary>
    public double PeakRssMb
    {
        get
        {
            SampleRss();
            return Interlocked.Read(ref _peakRssKb) / 1024.0;
        }
    }

    /// <summary>CPU time (user + system) the process used so far, from /proc; null once it has exited.</summary>
    public TimeSpan? CpuTime
    {
        get
        {
            try
            {
                // Fields 14 and 15 (utime, stime) in clock ticks, after the command name in parentheses.
                var stat = File.ReadAllText($"/proc/{Pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                return TimeSpan.FromSeconds(ticks / 100.0);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return null;
            }
        }
    }

    /// <summary>Starts <paramref name="startInfo"/>; its output is redirected here whatever the start info says.</summary>
    public static ManagedProcess Start(string name, ProcessStartInfo startInfo, string logFile)
    {
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.StandardOutputEncoding = Encoding.UTF8;
        startInfo.StandardErrorEncoding = Encoding.UTF8;

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logFile))!);
        var log = new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var managed = new ManagedProcess(name, process, log, logFile);
        process.OutputDataReceived += (_, e) => managed.OnLine("out", e.Data);
        process.ErrorDataReceived += (_, e) => managed.OnLine("err", e.Data);
        process.Exited += (_, _) => managed.OnExited();
        log.WriteLine($"----- {TimeProvider.System.GetLocalNow():O} starting {name}: {startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)} (cwd {startInfo.WorkingDirectory})");
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException($"Could not start {name} ({startInfo.FileName}).");
            }
        }
        catch
        {
            log.Dispose();
            process.Dispose();
            throw;
        }

        managed.Pid = process.Id;
        Track(managed);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        managed.StartWatchdog();
        managed._rssSampler.Change(TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
        if (process.HasExited)
        {
            managed.OnExited();
        }

        return managed;
    }

    /// <summary>The last <paramref name="lines"/> lines of output (at most the last 400 are kept in memory).</summary>
    public string Tail(int lines = 60)
    {
        lock (_tail)
        {
            return string.Join(Environment.NewLine, _tail.Skip(Math.Max(0, _tail.Count - lines)));
        }
    }

    /// <summary>Waits for an output line (from now on, or already in the in-memory tail) that matches.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_tail)
        {
            if (_tail.FirstOrDefault(match) is { } seen)
            {
                return seen;
            }

            _waiters.Add((match, found));
        }

        try
        {
            var finished = await Task.WhenAny(found.Task, Exited, Task.Delay(timeout, cancellationToken));
            if (finished == found.Task)
            {
                return await found.Task;
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw finished == Exited
                ? new InvalidOperationException($"{Name} exited (code {Exited.Result}) before the awaited output line.{Describe()}")
                : new TimeoutException($"{Name} wrote no matching line within {timeout.TotalSeconds:0.#} s.{Describe()}");
        }
        finally
        {
            lock (_tail)
            {
                _waiters.RemoveAll(w => w.Found == found);
            }
        }
    }

    /// <summary>SIGKILL to the process and its children: a crash, nothing is flushed. Returns once it is gone.</summary>
    public async Task KillAsync()
    {
        SampleRss();
        if (!HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }
        }

        await WaitForExitAsync(KillWait, "after SIGKILL");
    }

    /// <summary>
    /// SIGTERM: the graceful shutdown a container runtime or systemd asks for. Waits up to <paramref name="timeout"/>
    /// (default 30 s); if it has not exited by then it is killed and this throws <see cref="TimeoutException"/>.
    /// </summary>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        SampleRss();
        if (!HasExited && SendSignal(Pid, Sigterm) != 0 && !HasExited)
        {
            throw new InvalidOperationException($"Could not send SIGTERM to {Name} (pid {Pid}): errno {Marshal.GetLastPInvokeError()}.");
        }

        if (await Task.WhenAny(Exited, Task.Delay(wait)) != Exited)
        {
            await KillAsync();
            throw new TimeoutException($"{Name} did not exit within {wait.TotalSeconds:0.#} s of SIGTERM; it was killed.{Describe()}");
        }

        return await Exited;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            if (!HasExited)
            {
                await KillAsync();
            }
        }
        finally
        {
            Untrack(this);
            await _rssSampler.DisposeAsync();
            StopWatchdog();
            try
            {
                // Lets the reader threads drain what the process wrote last.
                _process.WaitForExit(2000);
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
            lock (_tail)
            {
                _log.Dispose();
            }
        }
    }

    internal string Describe() =>
        $"{Environment.NewLine}--- last lines of {Name} (full log: {LogFile}) ---{Environment.NewLine}{Tail(40)}";

    private async Task WaitForExitAsync(TimeSpan timeout, string when)
    {
        if (await Task.WhenAny(Exited, Task.Delay(timeout)) != Exited)
        {
            throw new TimeoutException($"{Name} (pid {Pid}) was still running {timeout.TotalSeconds:0} s {when}.");
        }
    }

    private void OnLine(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>>? matched = null;
        lock (_tail)
        {
            if (_disposed == 0 || !HasExited)
            {
                try
                {
                    _log.WriteLine(stream == "err" ? "[err] " + line : line);
                }
                catch (ObjectDisposedException)
                {
                }
            }

            _tail.Enqueue(line);
            if (_tail.Count > TailCapacity)
            {
                _tail.Dequeue();
            }

            foreach (var waiter in _waiters.Where(w => w.Match(line)))
            {
                (matched ??= []).Add(waiter.Found);
            }
        }

        matched?.ForEach(found => found.TrySetResult(line));
    }

    private void OnExited()
    {
        int code;
        try
        {
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        _exited.TrySetResult(code);
    }

    private void SampleRss()
    {
        if (Pid == 0 || HasExited)
        {
            return;
        }

        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    long seen;
                    while (kb > (seen = Interlocked.Read(ref _peakRssKb)) && Interlocked.CompareExchange(ref _peakRssKb, kb, seen) != seen)
                    {
                    }

                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // The process is just exiting.
        }
    }

    private void StartWatchdog()
    {
        var startInfo = new ProcessStartInfo("bash") { UseShellExecute = false };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(WatchdogScript);
        startInfo.Environment["KOMBO_PARENT"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        startInfo.Environment["KOMBO_CHILD"] = Pid.ToString(CultureInfo.InvariantCulture);
        try
        {
            _watchdog = Process.Start(startInfo);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No bash: the ProcessExit hook still kills the child unless this process is SIGKILLed.
        }
    }

    private void StopWatchdog()
    {
        if (_watchdog is null)
        {
            return;
        }

        try
        {
            if (!_watchdog.HasExited)
            {
                _watchdog.Kill();
            }

            _watchdog.WaitForExit(2000);
        }
        catch (InvalidOperationException)
        {
        }

        _watchdog.Dispose();
        _watchdog = null;
    }

    // Children still running when this process ends (normally, on SIGTERM or Ctrl-C) are killed with it.
    private static readonly HashSet<ManagedProcess> Running = [];
    private static int _hooked;

    private static void Track(ManagedProcess process)
    {
        if (Interlocked.Exchange(ref _hooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        }

        lock (Running)
        {
            Running.Add(process);
        }
    }

    private static void Untrack(ManagedProcess process)
    {
        lock (Running)
        {
            Running.Remove(process);
        }
    }

    private static void KillAll()
    {
        List<ManagedProcess> left;
        lock (Running)
        {
            left = [.. Running];
        }

        foreach (var process in left)
        {
            try
            {
                if (!process.HasExited)
                {
                    process._process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
