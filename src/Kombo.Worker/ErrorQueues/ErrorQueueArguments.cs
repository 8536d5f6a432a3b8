using System.Globalization;

namespace Kombo.Worker.ErrorQueues;

/// <summary>The parsed command line of <c>errors ...</c>.</summary>
internal sealed record ErrorQueueArguments(
    string Verb, string? MessageId, bool All, IReadOnlyList<string> Queues, string? Reason, int Limit, bool Json, string? Uri)
{
    public const string Usage = """
        Usage: Kombo.Worker errors <command> [options]

        Commands:
          list                              the messages in the command error queues, oldest first: id, reason, redacted body
          show <message-id>                 one message with every fault header and its redacted body
          replay (<message-id> | --all)     send messages back to their command queue without their fault headers
          purge (<message-id> | --all)      delete messages for good

        Options:
          --queue <name>     only this command queue's errors (create-connect-link, redeem-connect-token, create-reconnection-link); repeatable
          --reason <text>    with --all: only messages whose fault reason contains <text>
          --limit <n>        list at most <n> messages per queue (100)
          --json             one JSON document instead of text
          --uri <amqp-uri>   the broker; default the worker's RabbitMq settings from appsettings.json and the environment

        Bodies are shown with tokens, secrets and links redacted; the error queues themselves hold them whole, so only
        operators who may see connect tokens should be able to read them (RabbitMQ permissions on the *_error queues).
        A body that is not a JSON object (empty, binary, malformed, with a repeated property name, over 1 MiB or nested
        deeper than 32 levels) is not shown: the message is listed with the reason, and replay and purge still work.
        """;

    public static readonly string[] CommandQueues = ["create-connect-link", "redeem-connect-token", "create-reconnection-link"];

    private static readonly string[] Verbs = ["list", "show", "replay", "purge"];

    public bool IsHelp => Verb == "help";

    /// <exception cref="ErrorQueueToolException">The command line is not one of the forms in <see cref="Usage"/>.</exception>
    public static ErrorQueueArguments Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is "help" or "--help" or "-h")
        {
            return args.Count == 0
                ? throw Usage_("a command is missing (list, show, replay, purge); see --help")
                : Help();
        }

        var verb = args[0];
        if (!Verbs.Contains(verb))
        {
            throw Usage_($"unknown command '{verb}' (list, show, replay, purge); see --help");
        }

        string? messageId = null, reason = null, uri = null;
        var queues = new List<string>();
        bool all = false, json = false;
        var limit = 100;
        for (var i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--help" or "-h":
                    return Help();
                case "--all" when verb is "replay" or "purge":
                    all = true;
                    break;
                case "--json":
                    json = true;
                    break;
                case "--queue":
                    var queue = ValueAfter(args, ref i);
                    queues.Add(CommandQueues.Contains(queue) ? queue : throw Usage_($"unknown queue '{queue}' ({string.Join(", ", CommandQueues)})"));
                    break;
                case "--reason" when verb is "replay" or "purge" or "list":
                    reason = ValueAfter(args, ref i);
                    break;
                case "--limit" when verb == "list":
                    limit = int.TryParse(ValueAfter(args, ref i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                        ? n
                        : throw Usage_("--limit takes a whole number above 0");
                    break;
                case "--uri":
                    uri = ValueAfter(args, ref i);
                    break;
                case var value when !value.StartsWith('-') && messageId is null && verb is "show" or "replay" or "purge":
                    messageId = value;
                    break;
                default:
                    throw Usage_($"'{args[i]}' is not an option of '{verb}'; see --help");
            }
        }

        if (verb is "show" && messageId is null)
        {
            throw Usage_("show needs a message id");
        }

        if (verb is "replay" or "purge" && (messageId is null) == !all)
        {
            throw Usage_($"{verb} takes a message id or --all, not both");
        }

        if (reason is not null && messageId is not null)
        {
            throw Usage_("--reason filters --all; a message id names one message already");
        }

        return new ErrorQueueArguments(verb, messageId, all, queues.Count == 0 ? CommandQueues : queues, reason, limit, json, uri);
    }

    private static ErrorQueueArguments Help() => new("help", null, false, [], null, 0, false, null);

    private static string ValueAfter(IReadOnlyList<string> args, ref int i) =>
        i + 1 < args.Count ? args[++i] : throw Usage_($"{args[i]} needs a value");

    private static ErrorQueueToolException Usage_(string message) => new(message, ErrorQueueToolException.UsageExitCode);
}

internal sealed class ErrorQueueToolException(string message, int exitCode = ErrorQueueToolException.FailureExitCode) : Exception(message)
{
    public const int FailureExitCode = 1;
    public const int UsageExitCode = 2;

    public int ExitCode { get; } = exitCode;
}
