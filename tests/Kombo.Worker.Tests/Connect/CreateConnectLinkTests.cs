using System.Net;
using Kombo.Contracts;
using Kombo.Testing;
using Kombo.Worker.Tests.Support;
using MassTransit;
using MassTransit.Testing;

namespace Kombo.Worker.Tests.Connect;

public sealed class CreateConnectLinkTests
{
    private static CreateConnectLink ValidCommand(string? originId = "customer-1", string? tool = "personio") => new()
    {
        CorrelationId = NewId.NextGuid(),
        EndUserEmail = "admin@acme.test",
        EndUserOrganizationName = "Acme, Inc.",
        EndUserOriginId = originId,
        IntegrationTool = tool,
        LinkType = "EMBEDDED",
    };

    [Fact]
    public async Task Valid_command_creates_a_link_records_it_and_publishes_LinkCreated()
    {
        await using var harness = await Harness.StartAsync();
        var command = ValidCommand();

        await harness.Bus.Bus.Publish(command);

        var published = await harness.Bus.Published.SelectAsync<LinkCreated>(m => m.Context.Message.CorrelationId == command.CorrelationId).FirstOrDefault();
        Assert.NotNull(published);
        var link = published.Context.Message;
        Assert.StartsWith("https://connect.kombo.test/v1?token=", link.Link, StringComparison.Ordinal);
        Assert.Equal("customer-1", link.EndUserOriginId);
        Assert.Equal("EMBEDDED", link.LinkType);
        Assert.Equal(TimeSpan.FromHours(1), link.ExpiresAt - link.CreatedAt);
        Assert.Equal(1, harness.Kombo.CreateLinkCalls);
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM inbox WHERE outcome = 'succeeded'"));
        Assert.False(await harness.Bus.Published.Any<Fault<CreateConnectLink>>());
    }

    [Fact]
    public async Task Magic_link_expires_after_a_year()
    {
        await using var harness = await Harness.StartAsync();
        var command = ValidCommand() with { LinkType = "MAGIC_LINK" };

        await harness.Bus.Bus.Publish(command);

        var published = await harness.Bus.Published.SelectAsync<LinkCreated>().First();
        Assert.Equal(TimeSpan.FromDays(365), published.Context.Message.ExpiresAt - published.Context.Message.CreatedAt);
    }

    [Fact]
    public async Task Invalid_command_is_answered_with_invalid_request_and_kombo_is_not_called()
    {
        await using var harness = await Harness.StartAsync();
        var command = ValidCommand() with { EndUserEmail = "not-an-email", Language = "xx" };

        await harness.Bus.Bus.Publish(command);

        var failed = (await harness.Bus.Published.SelectAsync<ConnectLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Contains("EndUserEmail", failed.Message, StringComparison.Ordinal);
        Assert.Contains("Language", failed.Message, StringComparison.Ordinal);
        Assert.False(failed.Retryable);
        Assert.Equal(0, harness.Kombo.CreateLinkCalls);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM connect_links"));
    }

    [Fact]
    public async Task Link_for_a_tool_the_end_user_already_connected_is_refused_unless_allowed()
    {
        await using var harness = await Harness.StartAsync();
        harness.Execute("""
            INSERT INTO integrations (integration_id, tool, end_user_origin_id, end_user_organization_name, setup_status, connected_at, updated_at)
            VALUES ('personio:1', 'personio', 'customer-1', 'Acme', 'COMPLETED', 0, 0)
            """);

        var refused = ValidCommand();
        await harness.Bus.Bus.Publish(refused);
        var failed = (await harness.Bus.Published.SelectAsync<ConnectLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.AlreadyConnected, failed.Reason);
        Assert.Equal(refused.CorrelationId, failed.CorrelationId);
        Assert.Equal(["personio:1"], failed.ConnectedIntegrationIds);
        Assert.Contains("CreateReconnectionLink", failed.Message, StringComparison.Ordinal);
        Assert.Equal(0, harness.Kombo.CreateLinkCalls);

        var allowed = ValidCommand() with { AllowAdditionalConnection = true };
        await harness.Bus.Bus.Publish(allowed);
        Assert.True(await harness.Bus.Published.Any<LinkCreated>(m => m.Context.Message.CorrelationId == allowed.CorrelationId));
    }

    [Fact]
    public async Task Link_for_a_tool_is_allowed_again_once_kombo_reports_the_integration_deleted()
    {
        await using var harness = await Harness.StartAsync();
        await harness.Webhooks.HandleAsync(Webhooks.WebhookJsonReader.Read(Webhooks.WebhookJson.Created("evt-1", "personio:1")), default);

        await harness.Bus.Bus.Publish(ValidCommand());
        Assert.Equal(FailureReasons.AlreadyConnected, (await harness.Bus.Published.SelectAsync<ConnectLinkFailed>().First()).Context.Message.Reason);

        await harness.Webhooks.HandleAsync(Webhooks.WebhookJsonReader.Read(Webhooks.WebhookJson.Deleted("evt-2", "personio:1")), default);
        var again = ValidCommand();
        await harness.Bus.Bus.Publish(again);

        Assert.True(await harness.Bus.Published.Any<LinkCreated>(m => m.Context.Message.CorrelationId == again.CorrelationId));
    }

    [Fact]
    public async Task Permanent_kombo_error_is_answered_with_kombo_rejected_and_its_code()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.Respond = _ => FakeKombo.Error(HttpStatusCode.BadRequest, "PLATFORM.INPUT_INVALID", "end_user_email is invalid");

        await harness.Bus.Bus.Publish(ValidCommand());

        var failed = (await harness.Bus.Published.SelectAsync<ConnectLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboRejected, failed.Reason);
        Assert.Equal("PLATFORM.INPUT_INVALID", failed.KomboErrorCode);
        Assert.Equal("end_user_email is invalid", failed.KomboErrorMessage);
        Assert.Equal("https://app.kombo.dev/logs/1", failed.KomboLogUrl);
        Assert.False(failed.Retryable);
        Assert.Equal(1, harness.Kombo.CreateLinkCalls);
    }

    [Fact]
    public async Task Kombo_unavailable_through_every_redelivery_is_answered_with_a_retryable_failure()
    {
        await using var harness = await Harness.StartAsync();
        harness.Kombo.Respond = _ => FakeKombo.PlainText(HttpStatusCode.ServiceUnavailable, "<html>503 Service Unavailable</html>");

        await harness.Bus.Bus.Publish(ValidCommand());

        var failed = (await harness.Bus.Published.SelectAsync<ConnectLinkFailed>().First()).Context.Message;
        Assert.Equal(FailureReasons.KomboUnavailable, failed.Reason);
        Assert.True(failed.Retryable);
        // 3 deliveries (first + 2 redeliveries) x 3 attempts (first + 2 retries) each.
        Assert.Equal(9, harness.Kombo.CreateLinkCalls);
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.False(await harness.Bus.Published.Any<Fault<CreateConnectLink>>());
    }

    [Fact]
    public async Task Transient_kombo_failure_is_retried_and_then_succeeds()
    {
        await using var harness = await Harness.StartAsync();
        var calls = 0;
        harness.Kombo.Respond = _ => Interlocked.Increment(ref calls) <= 2
            ? FakeKombo.Error(HttpStatusCode.TooManyRequests, "PLATFORM.RATE_LIMIT_EXCEEDED")
            : null;

        await harness.Bus.Bus.Publish(ValidCommand());

        Assert.True(await harness.Bus.Published.Any<LinkCreated>());
        Assert.Equal(3, harness.Kombo.CreateLinkCalls);
    }

    [Fact]
    public async Task Request_client_gets_LinkCreated_as_its_response()
    {
        await using var harness = await Harness.StartAsync();
        var client = harness.Bus.GetRequestClient<CreateConnectLink>();
        var command = ValidCommand();

        var response = await client.GetResponse<LinkCreated, ConnectLinkFailed>(command);

        Assert.True(response.Is(out Response<LinkCreated>? created));
        Assert.Equal(command.CorrelationId, created!.Message.CorrelationId);
    }

    [Fact]
    public async Task Request_client_gets_the_failure_as_its_response()
    {
        await using var harness = await Harness.StartAsync();
        var client = harness.Bus.GetRequestClient<CreateConnectLink>();

        var response = await client.GetResponse<LinkCreated, ConnectLinkFailed>(ValidCommand() with { EndUserEmail = null });

        Assert.True(response.Is(out Response<ConnectLinkFailed>? failed));
        Assert.Equal(FailureReasons.InvalidRequest, failed!.Message.Reason);
    }

    [Fact]
    public async Task Same_command_delivered_twice_produces_one_link_and_one_event()
    {
        await using var harness = await Harness.StartAsync();
        var command = ValidCommand();
        var messageId = NewId.NextGuid();

        await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);
        await Eventually.HoldsAsync(() => harness.Count("SELECT COUNT(*) FROM inbox") == 1, "the first delivery was committed");
        await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);

        // The harness lists messages by id, so the outbox table is what tells one event from two.
        await harness.Bus.InactivityTask;
        Assert.True(await harness.Bus.Published.Any<LinkCreated>());
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'LinkCreated'"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.Equal(1, harness.Kombo.CreateLinkCalls);
    }

    [Fact]
    public async Task Two_commands_with_different_ids_produce_two_links()
    {
        await using var harness = await Harness.StartAsync();
        var command = ValidCommand();

        await harness.Bus.Bus.Publish(command);
        await harness.Bus.Bus.Publish(command);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Count() == 2, "two links were published");
        Assert.Equal(2, harness.Count("SELECT COUNT(*) FROM connect_links"));
    }

    [Fact]
    public async Task Failure_between_kombo_call_and_commit_leaves_no_row_and_redelivery_succeeds_once()
    {
        await using var harness = await Harness.StartAsync();
        var failingInsert = harness.FailWrites("fail_link_insert", "BEFORE INSERT", "connect_links", "injected failure before commit");
        var command = ValidCommand();
        var messageId = NewId.NextGuid();

        await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);

        await Eventually.HoldsAsync(() => harness.Bus.Consumed.Select<CreateConnectLink>(c => c.Exception is not null).Any(), "the command faulted");
        Assert.False(await harness.Bus.Published.Any<Fault<CreateConnectLink>>()); // the _error queue keeps it, no Fault event
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM outbox"));
        Assert.Equal(0, harness.Count("SELECT COUNT(*) FROM inbox"));
        Assert.False(await harness.Bus.Published.Any<LinkCreated>());

        failingInsert.Remove();
        await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);
        await harness.Bus.Bus.Publish(command, context => context.MessageId = messageId);

        await Eventually.HoldsAsync(() => harness.Bus.Published.Select<LinkCreated>().Any(), "the redelivered command was published");
        await harness.Bus.InactivityTask;
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM outbox WHERE message_type = 'LinkCreated'"));
        Assert.Equal(1, harness.Count("SELECT COUNT(*) FROM connect_links"));
    }

    [Fact]
    public async Task Thirty_two_concurrent_consumers_never_see_database_is_locked()
    {
        await using var harness = await Harness.StartAsync(new() { ["Messaging:ConcurrentMessageLimit"] = "32" });
        const int commands = 400;

        await Task.WhenAll(Enumerable.Range(0, commands).Select(i => harness.Bus.Bus.Publish(ValidCommand(originId: $"customer-{i}"))));

        await Eventually.HoldsAsync(
            () => harness.Count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") == commands,
            "every event was relayed", TimeSpan.FromSeconds(60));
        Assert.Equal(commands, harness.Count("SELECT COUNT(*) FROM connect_links"));
        Assert.False(await harness.Bus.Published.Any<Fault<CreateConnectLink>>());
    }
}
