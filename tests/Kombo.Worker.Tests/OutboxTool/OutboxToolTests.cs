using System.Text.RegularExpressions;
using Dapper;
using Kombo.Worker.Outbox;
using Kombo.Worker.OutboxTool;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.OutboxTool;

// The outbox tool opens SQLite files only.
[Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
public sealed class OutboxToolTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);

    private readonly OutboxDatabase _db = new();
    private readonly FakeTimeProvider _clock = new(Now);

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Status_counts_pending_parked_sent_and_inbox_rows_and_shows_the_oldest_pending_age()
    {
        _db.Append(Now.AddMinutes(-3).AddSeconds(-12));
        _db.Append(Now.AddSeconds(-5));
        var sent = _db.Append(Now.AddMinutes(-10));
        _db.MarkSent(sent.Sequence, Now.AddMinutes(-9));
        var parked = _db.Append(Now.AddHours(-2));
        _db.Park(parked.Sequence, Now.AddHours(-1), "UnpublishableMessageException: Unknown message type 'Nope'.");
        _db.RecordInbox(7);

        var (exitCode, output, error) = Run("status");

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        Assert.Contains($"database      {_db.Path} (schema version {SchemaMigrator.LatestVersion})", output, StringComparison.Ordinal);
        Assert.Contains("pending       2 (oldest 3m 12s old)", output, StringComparison.Ordinal);
        Assert.Contains("parked        1", output, StringComparison.Ordinal);
        Assert.Contains("sent          1", output, StringComparison.Ordinal);
        Assert.Contains("inbox         7", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_lists_the_five_most_frequent_last_errors_of_unsent_rows_with_their_counts()
    {
        for (var i = 0; i < 3; i++)
        {
            _db.Fail(_db.Append(Now).Sequence, "BrokerUnreachableException: None of the specified endpoints were reachable", Now.AddSeconds(30));
        }

        var parked = _db.Append(Now);
        _db.Park(parked.Sequence, Now, "UnpublishableMessageException: Unknown message type 'Nope'.");
        for (var i = 0; i < 6; i++)
        {
            _db.Fail(_db.Append(Now).Sequence, $"Error number {i}", Now);
        }

        var sent = _db.Append(Now);
        _db.Fail(sent.Sequence, "An error of a row that went out after all", Now);
        _db.MarkSent(sent.Sequence, Now);

        var (_, output, _) = Run("status");

        var lines = output.Split('\n').SkipWhile(l => !l.StartsWith("last errors", StringComparison.Ordinal)).Skip(1)
            .Where(l => l.Length > 0).ToList();
        Assert.Equal(5, lines.Count);
        Assert.Equal("  3  BrokerUnreachableException: None of the specified endpoints were reachable", lines[0]);
        Assert.DoesNotContain(lines, l => l.Contains("went out after all", StringComparison.Ordinal));
    }

    [Fact]
    public void Status_of_an_empty_outbox_says_so()
    {
        var (exitCode, output, _) = Run("status");

        Assert.Equal(0, exitCode);
        Assert.Contains("pending       0\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("last errors   none", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_finds_the_database_through_appsettings_relative_to_the_settings_file()
    {
        var settings = System.IO.Path.Combine(_db.Directory, "settings");
        Directory.CreateDirectory(settings);
        File.WriteAllText(System.IO.Path.Combine(settings, "appsettings.json"), """{ "Storage": { "DatabasePath": "../worker.db" } }""");
        _db.Append(Now.AddSeconds(-42));

        var (exitCode, output, error) = RunWith(["status"], settingsDirectory: settings);

        Assert.Equal("", error);
        Assert.Equal(0, exitCode);
        Assert.Contains($"database      {_db.Path} ", output, StringComparison.Ordinal);
        Assert.Contains("pending       1 (oldest 42s old)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Parked_lists_each_parked_row_and_never_its_body()
    {
        _db.Append(Now);
        var first = _db.Append(Now);
        var second = _db.Append(Now);
        _db.Park(first.Sequence, Now.AddMinutes(-5), "UnpublishableMessageException: The stored LinkCreated body is not valid", attempts: 1);
        _db.Park(second.Sequence, Now.AddMinutes(-1), "RabbitMqConnectionException: line one\nline two");

        var (exitCode, output, _) = Run("parked");

        Assert.Equal(0, exitCode);
        var lines = output.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Matches("^sequence +message id +type +attempts +parked at +last error$", lines[0]);
        Assert.Matches($"^ +{first.Sequence}  {first.MessageId}  LinkCreated +1  2025-03-14T11:55:00Z  UnpublishableMessageException: The stored LinkCreated body is not valid$", lines[1]);
        Assert.EndsWith("RabbitMqConnectionException: line one line two", lines[2], StringComparison.Ordinal);
        Assert.DoesNotContain("secret-link-token", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Parked_says_how_many_rows_the_limit_left_out()
    {
        for (var i = 0; i < 3; i++)
        {
            _db.Park(_db.Append(Now).Sequence, Now, "boom");
        }

        var (_, output, _) = Run("parked", "--limit", "2");

        Assert.Contains("(2 of 3 parked rows; --limit shows more)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_by_message_id_puts_a_parked_row_back_in_line_with_no_attempts_and_the_relay_reads_it_as_due()
    {
        var row = _db.Append(Now.AddHours(-1));
        _db.Park(row.Sequence, Now.AddMinutes(-30), "boom", attempts: 10);

        var (exitCode, output, error) = Run("replay", row.MessageId.ToString());

        Assert.Equal("", error);
        Assert.Equal(0, exitCode);
        Assert.Contains($"replayed row {row.Sequence} (LinkCreated {row.MessageId}, parked after 10 attempts): pending again", output, StringComparison.Ordinal);
        using var connection = _db.Sqlite.Open();
        var stored = connection.QuerySingle<(long? ParkedAt, long Attempts, long NextAttemptAt)>(
            "SELECT parked_at, attempts, next_attempt_at FROM outbox WHERE sequence = @Sequence", new { row.Sequence });
        Assert.Null(stored.ParkedAt);
        Assert.Equal(0, stored.Attempts);
        Assert.Equal(UnixTime.ToMs(Now), stored.NextAttemptAt);
        Assert.Equal(row.Sequence, Assert.Single(OutboxStore.ReadDue(connection, Now, 10)).Sequence);
    }

    [Fact]
    public void Replay_all_puts_back_only_the_parked_rows_the_filters_select()
    {
        var timedOut = _db.Append(Now.AddHours(-1));
        _db.Park(timedOut.Sequence, Now.AddMinutes(-30), "TimeoutException: the broker did not confirm");
        var unknown = _db.Append(Now.AddHours(-1));
        _db.Park(unknown.Sequence, Now.AddMinutes(-30), "UnpublishableMessageException: Unknown message type 'Nope'.");
        var pending = _db.Append(Now);

        var (exitCode, output, _) = Run("replay", "--all", "--error", "TimeoutException", "--type", "LinkCreated", "--json");

        Assert.Equal(0, exitCode);
        var replayed = System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("replayed");
        Assert.Equal(timedOut.MessageId.ToString(), Assert.Single(replayed.EnumerateArray()).GetProperty("messageId").GetString());
        Assert.Equal(1, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"));
        Assert.Equal(unknown.Sequence, _db.Scalar<long>("SELECT sequence FROM outbox WHERE parked_at IS NOT NULL"));
        Assert.NotEqual(pending.Sequence, timedOut.Sequence);

        var (_, everything, _) = Run("replay", "--all");
        Assert.Contains($"replayed row {unknown.Sequence}", everything, StringComparison.Ordinal);
        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"));
    }

    [Fact]
    public void Every_command_answers_one_json_document_with_json()
    {
        var parked = _db.Append(Now.AddHours(-2));
        _db.Park(parked.Sequence, Now.AddHours(-1), "boom");
        _db.Append(Now.AddMinutes(-3));
        var sent = _db.Append(Now.AddMinutes(-10));
        _db.MarkSent(sent.Sequence, Now.AddMinutes(-9));

        var status = System.Text.Json.JsonDocument.Parse(Run("status", "--json").Output).RootElement;
        var parkedRows = System.Text.Json.JsonDocument.Parse(Run("parked", "--json").Output).RootElement;
        var purged = System.Text.Json.JsonDocument.Parse(Run("purge-sent", "--json").Output).RootElement;

        Assert.Equal(1, status.GetProperty("pending").GetInt64());
        Assert.Equal(1, status.GetProperty("parked").GetInt64());
        Assert.Equal(180, status.GetProperty("oldestPendingAgeSeconds").GetDouble());
        Assert.Equal("boom", status.GetProperty("lastErrors")[0].GetProperty("error").GetString());
        Assert.Equal(parked.MessageId.ToString(), parkedRows.GetProperty("rows")[0].GetProperty("messageId").GetString());
        Assert.Equal(1, purged.GetProperty("deleted").GetInt64());
    }

    [Fact]
    public void Replay_by_sequence_works_too()
    {
        var row = _db.Append(Now);
        _db.Park(row.Sequence, Now, "boom");

        var (exitCode, _, _) = Run("replay", row.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(0, exitCode);
        Assert.Equal(0, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"));
    }

    [Fact]
    public void Replay_of_an_unknown_id_fails_with_one_line_and_changes_nothing()
    {
        var row = _db.Append(Now);
        _db.Park(row.Sequence, Now, "boom");
        var unknown = Guid.NewGuid();

        var (exitCode, output, error) = Run("replay", unknown.ToString());

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"outbox: no outbox row has message id or sequence '{unknown}'{Environment.NewLine}", error);
        Assert.Equal(1, _db.Scalar<long>("SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL"));
    }

    [Fact]
    public void Replay_of_a_row_that_is_not_parked_says_what_it_is()
    {
        var pending = _db.Append(Now);
        var sent = _db.Append(Now);
        _db.MarkSent(sent.Sequence, Now.AddMinutes(-1));

        var (pendingExit, _, pendingError) = Run("replay", pending.MessageId.ToString());
        var (sentExit, _, sentError) = Run("replay", sent.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var (badExit, _, badError) = Run("replay", "not-an-id");

        Assert.Equal(1, pendingExit);
        Assert.Contains("is not parked: it is pending, next attempt at 2025-03-14T12:00:00Z", pendingError, StringComparison.Ordinal);
        Assert.Equal(1, sentExit);
        Assert.Contains("is not parked: it was sent at 2025-03-14T11:59:00Z", sentError, StringComparison.Ordinal);
        Assert.Equal(1, badExit);
        Assert.Contains("'not-an-id' is neither a message id (a GUID) nor a sequence number", badError, StringComparison.Ordinal);
    }

    [Fact]
    public void Purge_sent_deletes_every_sent_row_and_nothing_else()
    {
        var pending = _db.Append(Now);
        var parked = _db.Append(Now);
        _db.Park(parked.Sequence, Now, "boom");
        for (var i = 0; i < 2500; i++)
        {
            _db.MarkSent(_db.Append(Now).Sequence, Now.AddSeconds(-i));
        }

        var (exitCode, output, _) = Run("purge-sent");

        Assert.Equal(0, exitCode);
        Assert.Contains("deleted 2500 sent rows", output, StringComparison.Ordinal);
        Assert.Equal([pending.Sequence, parked.Sequence], _db.Scalar<string>("SELECT group_concat(sequence) FROM outbox")!.Split(',').Select(long.Parse));
    }

    [Fact]
    public void Purge_sent_older_than_keeps_recently_sent_rows()
    {
        var recent = _db.Append(Now);
        _db.MarkSent(recent.Sequence, Now.AddMinutes(-59));
        var old = _db.Append(Now);
        _db.MarkSent(old.Sequence, Now.AddMinutes(-61));

        var (exitCode, output, _) = Run("purge-sent", "--older-than", "1h");

        Assert.Equal(0, exitCode);
        Assert.Contains("deleted 1 rows sent before 2025-03-14T11:00:00Z", output, StringComparison.Ordinal);
        Assert.Equal(recent.Sequence, _db.Scalar<long>("SELECT sequence FROM outbox"));
    }

    [Fact]
    public void A_missing_database_is_reported_and_not_created()
    {
        var missing = System.IO.Path.Combine(_db.Directory, "nowhere", "worker.db");

        var (exitCode, output, error) = RunWith(["status", "--database", missing]);

        Assert.Equal(1, exitCode);
        Assert.Equal("", output);
        Assert.StartsWith($"outbox: no database at {missing} (Storage:DatabasePath)", error, StringComparison.Ordinal);
        Assert.Single(error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(missing));
        Assert.False(Directory.Exists(System.IO.Path.GetDirectoryName(missing)));
    }

    [Fact]
    public void A_database_locked_by_another_writer_is_reported_after_the_short_busy_timeout()
    {
        var row = _db.Append(Now);
        _db.Park(row.Sequence, Now, "boom");
        using var other = _db.Sqlite.Open();
        using var lockHolder = other.BeginTransaction(deferred: false);
        other.Execute("UPDATE outbox SET attempts = attempts WHERE sequence = @Sequence", new { row.Sequence }, lockHolder);

        var started = Environment.TickCount64;
        var (exitCode, _, error) = RunWith(["replay", row.MessageId.ToString(), "--database", _db.Path], busyTimeout: TimeSpan.FromMilliseconds(200));

        Assert.Equal(1, exitCode);
        Assert.Matches($"^outbox: the database {Regex.Escape(_db.Path)} is locked by another writer; gave up after [0-9.]+ s, try again$", error.TrimEnd());
        Assert.InRange(Environment.TickCount64 - started, 150, 5000);
    }

    [Fact]
    public void Reading_works_while_another_writer_holds_the_lock()
    {
        _db.Append(Now);
        using var other = _db.Sqlite.Open();
        using var lockHolder = other.BeginTransaction(deferred: false);
        other.Execute("UPDATE outbox SET attempts = attempts", transaction: lockHolder);

        var (exitCode, output, _) = RunWith(["status", "--database", _db.Path], busyTimeout: TimeSpan.FromMilliseconds(200));

        Assert.Equal(0, exitCode);
        Assert.Contains("pending       1", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_worker_database_is_refused()
    {
        var empty = System.IO.Path.Combine(_db.Directory, "empty.db");
        File.WriteAllBytes(empty, []);
        var text = System.IO.Path.Combine(_db.Directory, "notes.db");
        File.WriteAllText(text, new string('x', 4096));

        var (emptyExit, _, emptyError) = RunWith(["status", "--database", empty]);
        var (textExit, _, textError) = RunWith(["status", "--database", text]);

        Assert.Equal(1, emptyExit);
        Assert.Contains("is not a Kombo.Worker database", emptyError, StringComparison.Ordinal);
        Assert.Equal(1, textExit);
        Assert.Contains("is not a SQLite database", textError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], "a command is missing")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "replay" }, "replay needs the message id or sequence")]
    [InlineData(new[] { "replay", "7", "--all" }, "replay takes one row's id, or --all with its filters, not both")]
    [InlineData(new[] { "status", "--all" }, "'--all' is not an argument of status")]
    [InlineData(new[] { "purge-sent", "--older-than", "soon" }, "'soon' is not a duration")]
    [InlineData(new[] { "status", "--older-than", "1h" }, "'--older-than' is not an argument of status")]
    [InlineData(new[] { "parked", "--limit", "0" }, "--limit must be a positive number")]
    public void Usage_errors_exit_with_code_2_and_say_what_is_wrong(string[] args, string message)
    {
        var (exitCode, _, error) = Run(args);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("outbox: ", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 172800)]
    [InlineData("01:30:00", 5400)]
    public void Durations_read_as_an_operator_writes_them(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), OutboxToolArguments.ParseDuration(text));

    [Fact]
    public void Help_prints_the_usage()
    {
        var (exitCode, output, _) = Run("--help");

        Assert.Equal(0, exitCode);
        Assert.Contains("Usage: Kombo.Worker outbox <command>", output, StringComparison.Ordinal);
    }

    private (int ExitCode, string Output, string Error) Run(params string[] args) =>
        RunWith(args.Length > 0 && args[0] != "--help" ? [.. args, "--database", _db.Path] : args);

    private (int ExitCode, string Output, string Error) RunWith(string[] args, string? settingsDirectory = null, TimeSpan? busyTimeout = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new OutboxToolContext(output, error, _clock)
        {
            LocateSettings = () => settingsDirectory ?? throw new FileNotFoundException("No appsettings.json in this test."),
            BusyTimeout = busyTimeout ?? TimeSpan.FromSeconds(2),
        };
        var exitCode = OutboxToolCommand.Run(args, context);
        return (exitCode, output.ToString(), error.ToString());
    }
}
