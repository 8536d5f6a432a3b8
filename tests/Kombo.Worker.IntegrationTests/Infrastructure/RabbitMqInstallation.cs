using System.Diagnostics;

namespace Kombo.Worker.IntegrationTests.Infrastructure;

/// <summary>Where RabbitMQ's scripts are, and how the current user runs a node of its own with them.</summary>
internal sealed record RabbitMqInstallation(string Server, string Ctl, bool SwitchesToRabbitMqUser)
{
    public const string Fix =
        "Install RabbitMQ with `scripts/rabbitmq.sh install` (on Debian/Ubuntu: apt-get install rabbitmq-server), " +
        "or run every test with `scripts/test.sh`, which installs it.";

    private const string DebianLibBin = "/usr/lib/rabbitmq/bin";

    public static RabbitMqInstallation Locate()
    {
        // As root, Debian's wrappers in /usr/sbin switch to the rabbitmq user (whose home holds the Erlang cookie).
        // Anyone else runs the package's own scripts, which refuse nothing but need a HOME for the cookie.
        if (Environment.UserName == "root" && File.Exists("/usr/sbin/rabbitmq-server") && File.Exists("/usr/sbin/rabbitmqctl")
            && File.Exists(Path.Combine(DebianLibBin, "rabbitmq-server")))
        {
            return new("/usr/sbin/rabbitmq-server", "/usr/sbin/rabbitmqctl", SwitchesToRabbitMqUser: true);
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in new[] { DebianLibBin }.Concat(path.Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            var server = Path.Combine(directory, "rabbitmq-server");
            var ctl = Path.Combine(directory, "rabbitmqctl");
            if (File.Exists(server) && File.Exists(ctl))
            {
                return new(server, ctl, SwitchesToRabbitMqUser: false);
            }
        }

        throw new InvalidOperationException(
            "RabbitMQ is not installed: no rabbitmq-server in /usr/sbin, /usr/lib/rabbitmq/bin or on PATH. " +
            $"The integration tests start a RabbitMQ node of their own. {Fix}");
    }

    /// <summary>Creates the node's data, log and config files; nothing from /etc/rabbitmq applies to the node.</summary>
    public string CreateNodeDirectory(string nodeName)
    {
        // The rabbitmq user cannot enter a private TMPDIR such as /root/tmp; /tmp is open to it.
        var parent = SwitchesToRabbitMqUser ? "/tmp" : Path.GetTempPath();
        var directory = Path.Combine(parent, $"kombo-rabbitmq-{nodeName.Split('@')[0]}");
        Directory.CreateDirectory(Path.Combine(directory, "mnesia"));
        Directory.CreateDirectory(Path.Combine(directory, "log"));

        // No plugins: the management UI is not needed and costs seconds at boot.
        File.WriteAllText(Path.Combine(directory, "enabled_plugins"), "[].\n");
        File.WriteAllText(Path.Combine(directory, "rabbitmq.conf"), """
            # Written by the integration tests' RabbitMqBroker fixture.
            loopback_users.guest = true
            log.file.level = info
            log.console = false

            """);
        File.WriteAllText(Path.Combine(directory, "rabbitmq-env.conf"), "");

        if (SwitchesToRabbitMqUser)
        {
            // Debian's wrapper runs the node as rabbitmq; without owning its directories it dies with "eacces".
            using var chown = Process.Start("chown", ["-R", "rabbitmq:rabbitmq", directory]);
            chown.WaitForExit();
            if (chown.ExitCode != 0)
            {
                throw new InvalidOperationException($"chown -R rabbitmq:rabbitmq {directory} failed (exit code {chown.ExitCode}).");
            }
        }

        return directory;
    }
}
