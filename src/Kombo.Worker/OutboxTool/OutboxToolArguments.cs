using System.Globalization;
using System.Text.RegularExpressions;

namespace Kombo.Worker.OutboxTool;

/// <summary>The parsed command line of <c>outbox ...</c>: one verb, its one argument, and a few options.</summary>
internal sealed partial record OutboxToolArguments(string Verb, string? Target, TimeSpan OlderThan, int Limit, string? DatabasePath)
{
    /// <summary>One JSON document on stdout instead of text (every command).</summary>
    public bool Json { get; init; }

    /// <summary><c>replay --all</c>: every parked row, or those the filters select.</summary>
    public bool All { get; init; }

    /// <summary>With <c>replay --all</c>: only rows of this message type.</summary>
    public string? MessageType { get; init; }

    /// <summary>With <c>replay --all</c>: only rows whose last error contains this text.</summary>
    public string? ErrorContains { get; init; }

    public const string Usage = """
        Usage: Kombo.Worker outbox <command> [--database <file>] [--json]

        Commands:
          status                        pending, parked and sent rows, the oldest pending row's age, the last errors
          parked [--limit <n>]          the parked rows (never their bodies), oldest first; 100 unless --limit
          replay <message-id|sequence>  move a parked row back to pending; a running relay picks it up
          replay --all [--type <t>] [--error <text>]
                                        move every parked row back (of message type <t>, whose last error contains <text>)
          purge-sent [--older-than <d>] delete sent rows, all of them or those sent longer ago than <d> (90s, 15m, 1h, 2d)

        A parked row whose link expired has it redacted by the worker's cleanup: parked shows "(link redacted)", and
        replay refuses it (replay --all skips it), since subscribers would get a useless link.

        The database is Storage:DatabasePath from the worker's appsettings.json and environment, unless --database names it.
        --json prints one JSON document instead of text.
        """;

    private static readonly string[] Verbs = ["status", "parked", "replay", "purge-sent"];

    public bool IsHelp => Verb == "help";

    /// <exception cref="OutboxToolException">The command line is not one of the forms in <see cref="Usage"/>.</exception>
    public static OutboxToolArguments Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
        {
            throw new OutboxToolException("a command is missing (status, parked, replay, purge-sent); see --help", OutboxToolException.UsageExitCode);
        }

        var verb = args[0];
        if (verb is "help" or "--help" or "-h")
        {
            return new OutboxToolArguments("help", null, TimeSpan.Zero, 0, null);
        }

        if (!Verbs.Contains(verb))
        {
            throw new OutboxToolException($"unknown command '{verb}' (status, parked, replay, purge-sent); see --help", OutboxToolException.UsageExitCode);
        }

        string? target = null, database = null, messageType = null, errorContains = null;
        TimeSpan olderThan = TimeSpan.Zero;
        var limit = 100;
        bool json = false, all = false;
        for (var i = 1; i < args.Count; i++)
        {
            var (name, inlineValue) = SplitOption(args[i]);
            switch (name)
            {
                case "--help" or "-h":
                    return new OutboxToolArguments("help", null, TimeSpan.Zero, 0, null);
                case "--database":
                    database = inlineValue ?? ValueAfter(args, ref i, name);
                    break;
                case "--json":
                    json = true;
                    break;
                case "--all" when verb == "replay":
                    all = true;
                    break;
                case "--type" when verb == "replay":
                    messageType = inlineValue ?? ValueAfter(args, ref i, name);
                    break;
                case "--error" when verb == "replay":
                    errorContains = inlineValue ?? ValueAfter(args, ref i, name);
                    break;
                case "--older-than" when verb == "purge-sent":
                    olderThan = ParseDuration(inlineValue ?? ValueAfter(args, ref i, name));
                    break;
                case "--limit" when verb == "parked":
                    var text = inlineValue ?? ValueAfter(args, ref i, name);
                    limit = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                        ? value
                        : throw new OutboxToolException($"--limit must be a positive number (got '{text}')", OutboxToolException.UsageExitCode);
                    break;
                case var positional when !positional.StartsWith('-') && verb == "replay" && target is null:
                    target = positional;
                    break;
                default:
                    throw new OutboxToolException($"'{args[i]}' is not an argument of {verb}; see --help", OutboxToolException.UsageExitCode);
            }
        }

        if (verb == "replay" && target is null && !all)
        {
            throw new OutboxToolException("replay needs the message id or sequence of a parked row (see: outbox parked), or --all", OutboxToolException.UsageExitCode);
        }

        if (verb == "replay" && (target is not null && all || target is not null && (messageType ?? errorContains) is not null))
        {
            throw new OutboxToolException("replay takes one row's id, or --all with its filters, not both", OutboxToolException.UsageExitCode);
        }

        return new OutboxToolArguments(verb, target, olderThan, limit, database)
        {
            Json = json,
            All = all,
            MessageType = messageType,
            ErrorContains = errorContains,
        };
    }

    /// <summary><c>90s</c>, <c>15m</c>, <c>1h</c>, <c>2d</c>, or a TimeSpan such as <c>01:30:00</c>.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var match = DurationPattern().Match(text);
        if (match.Success)
        {
            var amount = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero
            ? span
            : throw new OutboxToolException($"'{text}' is not a duration (90s, 15m, 1h, 2d or 01:30:00)", OutboxToolException.UsageExitCode);
    }

    private static (string Name, string? Value) SplitOption(string arg)
    {
        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        return arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? (arg[..equals], arg[(equals + 1)..]) : (arg, null);
    }

    private static string ValueAfter(IReadOnlyList<string> args, ref int i, string name) =>
        ++i < args.Count ? args[i] : throw new OutboxToolException($"{name} needs a value", OutboxToolException.UsageExitCode);

    [GeneratedRegex("^([0-9]{1,9})(s|m|h|d)$")]
    private static partial Regex DurationPattern();
}

/// <summary>A one-line answer for the operator and the exit code that goes with it.</summary>
internal sealed class OutboxToolException(string message, int exitCode = OutboxToolException.FailureExitCode) : Exception(message)
{
    public const int FailureExitCode = 1;
    public const int UsageExitCode = 2;

    public int ExitCode { get; } = exitCode;
}
