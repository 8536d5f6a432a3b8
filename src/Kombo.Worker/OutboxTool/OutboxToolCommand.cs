using System.Data.Common;
using System.Diagnostics;
using Kombo.Worker.Hosting;
using Kombo.Worker.Outbox;
using Kombo.Worker.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Kombo.Worker.OutboxTool;

/// <summary>
/// <c>Kombo.Worker outbox status|parked|replay|purge-sent</c>: the operator's view of a worker's outbox, on a running
/// worker or a stopped one. Prints to stdout; a failure is one line on stderr and a non-zero exit code.
/// </summary>
internal static class OutboxToolCommand
{
    public static int Run(string[] args) => Run(args, new OutboxToolContext(Console.Out, Console.Error, TimeProvider.System));

    internal static int Run(IReadOnlyList<string> args, OutboxToolContext context)
    {
        try
        {
            var arguments = OutboxToolArguments.Parse(args);
            if (arguments.IsHelp)
            {
                context.Output.WriteLine(OutboxToolArguments.Usage);
                return 0;
            }

            var database = OutboxToolDatabase.Locate(arguments.DatabasePath, context.LocateSettings, context.BusyTimeout);
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var connection = OutboxToolDatabase.OpenMigrated(database);
                Execute(arguments, database, connection, context);
                return 0;
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteErrorCodes.Busy or SqliteErrorCodes.Locked)
            {
                throw new OutboxToolException(
                    $"the database {database.Name} is locked by another writer; gave up after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.#} s, try again");
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is SqliteErrorCodes.NotADatabase)
            {
                throw new OutboxToolException($"{database.Name} is not a SQLite database");
            }
            catch (SqliteException ex)
            {
                throw new OutboxToolException($"SQLite error {ex.SqliteErrorCode} on {database.Name}: {ex.Message}");
            }
            catch (NpgsqlException ex)
            {
                throw new OutboxToolException($"PostgreSQL error on {database.Name}: {ex.Message}");
            }
            finally
            {
                (database as IDisposable)?.Dispose();
            }
        }
        catch (OutboxToolException ex)
        {
            context.Error.WriteLine($"outbox: {ex.Message}");
            return ex.ExitCode;
        }
    }

    private static void Execute(OutboxToolArguments arguments, IDatabase database, DbConnection connection, OutboxToolContext context)
    {
        var output = context.Output;
        var now = context.Time.GetUtcNow();
        switch (arguments.Verb)
        {
            case "status":
                var status = OutboxAdministration.Status(connection);
                if (arguments.Json)
                {
                    OutboxToolJson.Status(output, database.Name, status, now);
                }
                else
                {
                    OutboxToolOutput.Status(output, database.Name, status, now);
                }

                break;
            case "parked":
                var parked = OutboxAdministration.Parked(connection, arguments.Limit);
                var total = OutboxStatistics.ReadOutbox(connection).Parked;
                if (arguments.Json)
                {
                    OutboxToolJson.Parked(output, parked, total);
                }
                else
                {
                    OutboxToolOutput.Parked(output, parked, total);
                }

                break;
            case "replay":
                var result = arguments.All
                    ? OutboxAdministration.ReplayAll(connection, arguments.MessageType, arguments.ErrorContains, now)
                    : new ReplayedRows(OutboxAdministration.Replay(connection, arguments.Target!, now), []);
                if (arguments.Json)
                {
                    OutboxToolJson.Replayed(output, result);
                    break;
                }

                var replayed = result.Replayed;
                foreach (var row in replayed)
                {
                    output.WriteLine($"replayed row {row.Sequence} ({row.MessageType} {row.MessageId}, parked after {row.Attempts} attempts): pending again");
                }

                foreach (var row in result.Skipped)
                {
                    output.WriteLine($"skipped row {row.Sequence} ({row.MessageType} {row.MessageId}): {OutboxAdministration.RedactedReason}");
                }

                output.WriteLine(replayed.Count == 0
                    ? "no parked row matched"
                    : "A running worker publishes it within Outbox:PollInterval; a stopped one when it starts.");
                break;
            case "purge-sent":
                var cutoff = now - arguments.OlderThan;
                var deleted = OutboxAdministration.PurgeSent(connection, cutoff);
                if (arguments.Json)
                {
                    OutboxToolJson.Purged(output, deleted, arguments.OlderThan == TimeSpan.Zero ? null : cutoff);
                    break;
                }

                output.WriteLine(arguments.OlderThan == TimeSpan.Zero
                    ? $"deleted {deleted} sent rows"
                    : $"deleted {deleted} rows sent before {OutboxToolOutput.Timestamp(UnixTime.ToMs(cutoff))}");
                break;
        }
    }

}

/// <summary>Where the tool writes, what time it is, and how it finds the settings: swapped in tests.</summary>
internal sealed record OutboxToolContext(TextWriter Output, TextWriter Error, TimeProvider Time)
{
    /// <summary>Short: an operator at a prompt wants to hear "locked, try again", not wait like the worker does.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public Func<string> LocateSettings { get; init; } = SettingsFile.LocateDirectory;
}
