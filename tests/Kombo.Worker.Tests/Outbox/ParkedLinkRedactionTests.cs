using System.Text.Json;
using Kombo.Contracts;
using Kombo.Worker.Outbox;
using Kombo.Worker.OutboxTool;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Kombo.Worker.Tests.Outbox;

/// <summary>A parked row keeps its link only as long as the link works: after that the cleanup redacts it.</summary>
public sealed class ParkedLinkRedactionTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private const string Secret = "secret-link-token";

    private readonly OutboxDatabase _db = new();
    private readonly FakeTimeProvider _clock = new(Now);

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task Cleanup_redacts_the_link_of_rows_parked_past_its_expiry_in_batches_and_leaves_the_rest()
    {
        var expiredMagicLink = AppendParked(new LinkCreated
        {
            CorrelationId = NewId.NextGuid(),
            Link = OutboxDatabase.SecretLink,
            LinkType = "MAGIC_LINK",
            CreatedAt = Now.AddDays(-366),
            ExpiresAt = Now.AddDays(-1),
        });
        var expiredReconnection = AppendParked(new ReconnectionLinkCreated
        {
            CorrelationId = NewId.NextGuid(),
            IntegrationId = "int-1",
            Link = OutboxDatabase.SecretLink,
            LinkType = "EMBEDDED",
            CreatedAt = Now.AddHours(-2),
            ExpiresAt = Now.AddHours(-1),
        });
        var stillValid = AppendParked(new LinkCreated
        {
            CorrelationId = NewId.NextGuid(),
            Link = OutboxDatabase.SecretLink,
            LinkType = "MAGIC_LINK",
            CreatedAt = Now.AddDays(-30),
            ExpiresAt = Now.AddDays(335),
        });
        var expiredButPending = Append(new LinkCreated
        {
            CorrelationId = NewId.NextGuid(),
            Link = OutboxDatabase.SecretLink,
            LinkType = "EMBEDDED",
            CreatedAt = Now.AddHours(-2),
            ExpiresAt = Now.AddHours(-1),
        });

        var cleanup = new OutboxCleanup(_db.NewWriter(), [], new AllOutboxPartitions(),
            Options.Create(new OutboxOptions { CleanupBatchSize = 1 }), Options.Create(new RetentionOptions()), _clock, NullLogger<OutboxCleanup>.Instance);
        await cleanup.CleanUpAsync(CancellationToken.None);

        foreach (var redacted in new[] { expiredMagicLink, expiredReconnection })
        {
            var body = Body(redacted);
            Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(body);
            Assert.Equal("[redacted]", json.RootElement.GetProperty("link").GetString());
            Assert.True(json.RootElement.TryGetProperty("expiresAt", out _));
        }

        Assert.Contains(Secret, Body(stillValid), StringComparison.Ordinal);
        Assert.Contains(Secret, Body(expiredButPending), StringComparison.Ordinal);
    }

    [Fact]
    [Trait(TestStorage.Trait, TestStorage.SqliteOnly)]
    public async Task The_outbox_tool_shows_a_redacted_row_as_such_and_refuses_to_replay_it()
    {
        var expired = AppendParked(new LinkCreated
        {
            CorrelationId = NewId.NextGuid(),
            Link = OutboxDatabase.SecretLink,
            LinkType = "MAGIC_LINK",
            CreatedAt = Now.AddDays(-366),
            ExpiresAt = Now.AddDays(-1),
        });
        var other = AppendParked(new LinkCreated
        {
            CorrelationId = NewId.NextGuid(),
            Link = OutboxDatabase.SecretLink,
            LinkType = "EMBEDDED",
            CreatedAt = Now.AddMinutes(-10),
            ExpiresAt = Now.AddMinutes(50),
        });
        var cleanup = new OutboxCleanup(_db.NewWriter(), [], new AllOutboxPartitions(),
            Options.Create(new OutboxOptions()), Options.Create(new RetentionOptions()), _clock, NullLogger<OutboxCleanup>.Instance);
        await cleanup.CleanUpAsync(CancellationToken.None);

        var parked = Run("parked");
        var parkedJson = JsonDocument.Parse(Run("parked", "--json").Output).RootElement.GetProperty("rows");
        var single = Run("replay", expired.MessageId.ToString());
        var all = Run("replay", "--all");

        Assert.Contains("LinkCreated (link redacted)", parked.Output, StringComparison.Ordinal);
        Assert.True(parkedJson[0].GetProperty("linkRedacted").GetBoolean());
        Assert.False(parkedJson[1].GetProperty("linkRedacted").GetBoolean());
        Assert.Equal(1, single.ExitCode);
        Assert.Contains("its link expired and was redacted", single.Error, StringComparison.Ordinal);
        Assert.Equal(0, all.ExitCode);
        Assert.Contains($"replayed row {other.Sequence}", all.Output, StringComparison.Ordinal);
        Assert.Contains($"skipped row {expired.Sequence}", all.Output, StringComparison.Ordinal);
        Assert.Equal(expired.Sequence, _db.Scalar<long>("SELECT sequence FROM outbox WHERE parked_at IS NOT NULL"));
    }

    private (long Sequence, Guid MessageId) AppendParked(object message)
    {
        var row = Append(message);
        _db.Park(row.Sequence, Now.AddDays(-300), "UnpublishableMessageException: test");
        return row;
    }

    private (long Sequence, Guid MessageId) Append(object message)
    {
        var outgoing = OutgoingMessage.Event(NewId.NextGuid(), message, NewId.NextGuid(), null);
        using var connection = _db.Database.Open();
        using var transaction = connection.BeginTransaction();
        var appended = OutboxStore.Append(connection, transaction, [outgoing], Now.AddDays(-300));
        transaction.Commit();
        return (appended[0].Sequence, outgoing.MessageId);
    }

    private string Body((long Sequence, Guid MessageId) row) =>
        _db.Scalar<string>("SELECT body FROM outbox WHERE sequence = @Sequence", new { row.Sequence })!;

    private (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = new OutboxToolContext(output, error, _clock) { LocateSettings = () => throw new FileNotFoundException("no settings") };
        var exitCode = OutboxToolCommand.Run([.. args, "--database", _db.Path], context);
        return (exitCode, output.ToString(), error.ToString());
    }
}
