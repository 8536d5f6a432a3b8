using System.Text;
using Kombo.Worker.Connect.Webhooks;

namespace Kombo.Worker.Tests.Connect.Webhooks;

public sealed class WebhookParserTests
{
    private static KomboWebhook? Parse(string json, out string? problem) => WebhookParser.Parse(Encoding.UTF8.GetBytes(json), out problem);

    [Fact]
    public void Integration_created_is_read_from_kombos_wire_format()
    {
        var webhook = Parse("""
            {"id":"5gjAtURLPbnTiwgkaBfiA3WJ","type":"integration-created","data":{"id":"personio:CBNMt7dSNCzBdnRTx87dev4E",
             "tool":"personio","category":"HRIS","end_user":{"organization_name":"Acme, Inc.","creator_email":null,"origin_id":"36123"}}}
            """, out var problem);

        var created = Assert.IsType<IntegrationCreatedWebhook>(webhook);
        Assert.Null(problem);
        Assert.Equal("5gjAtURLPbnTiwgkaBfiA3WJ", created.Id);
        Assert.Equal("personio:CBNMt7dSNCzBdnRTx87dev4E", created.IntegrationId);
        Assert.Equal(new WebhookEndUser("Acme, Inc.", null, "36123"), created.EndUser);
    }

    [Fact]
    public void State_change_reads_the_prefixed_fields_and_its_time()
    {
        var webhook = Parse("""
            {"id":"e2","type":"integration-state-changed","data":{"integration_tool":"personio","integration_id":"personio:1",
             "integration_category":"HRIS","end_user":{"organization_name":"Acme","creator_email":"a@acme.test","origin_id":null},
             "qa_status":"PASSED","setup_status":"COMPLETED","state":"INVALID","updated_at":"2026-05-01T12:00:00Z"}}
            """, out _);

        var changed = Assert.IsType<IntegrationStateChangedWebhook>(webhook);
        Assert.Equal("INVALID", changed.State);
        Assert.Equal("COMPLETED", changed.SetupStatus);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero), changed.UpdatedAt);
    }

    [Fact]
    public void State_change_without_setup_status_is_read_as_older_payloads_send_it()
    {
        var webhook = Parse("""
            {"id":"e3","type":"integration-state-changed","data":{"integration_tool":"personio","integration_id":"personio:1",
             "integration_category":"HRIS","end_user":{"organization_name":"Acme","creator_email":null,"origin_id":"1"},
             "qa_status":"PENDING","state":"ACTIVE","updated_at":"2026-05-01T12:00:00Z"}}
            """, out _);

        Assert.Null(Assert.IsType<IntegrationStateChangedWebhook>(webhook).SetupStatus);
    }

    [Fact]
    public void Deleted_and_flow_failed_are_read()
    {
        var deleted = Parse("""
            {"id":"e4","type":"integration-deleted","data":{"id":"personio:1","tool":"personio","category":"HRIS",
             "end_user":{"organization_name":"Acme","creator_email":null,"origin_id":"1"},"deleted_at":"2026-05-02T08:00:00.000Z"}}
            """, out _);
        var failed = Parse("""
            {"id":"e5","type":"connection-flow-failed","data":{"integration_tool":"personio","integration_category":"HRIS",
             "end_user":{"organization_name":"Acme","creator_email":null,"origin_id":"1"},"log_url":"https://app.kombo.dev/logs/1"}}
            """, out _);

        Assert.Equal(new DateTimeOffset(2026, 5, 2, 8, 0, 0, TimeSpan.Zero), Assert.IsType<IntegrationDeletedWebhook>(deleted).DeletedAt);
        Assert.Equal("https://app.kombo.dev/logs/1", Assert.IsType<ConnectionFlowFailedWebhook>(failed).LogUrl);
    }

    [Theory]
    [InlineData("""{"id":"e","type":"integration-created","data":{"id":"x","tool":"t","category":"HRIS","end_user":{"organization_name":"A","origin_id":"1"}}}""")]
    [InlineData("""{"id":"e","type":"integration-deleted","data":{"id":"x","tool":"t","category":"HRIS","end_user":{"organization_name":"A"},"deleted_at":"2026-05-02T08:00:00Z"}}""")]
    [InlineData("""{"id":"e","type":"integration-state-changed","data":{"integration_tool":"t","integration_id":"x","integration_category":"HRIS","end_user":{"organization_name":"A","creator_email":"a@acme.test"},"qa_status":"PASSED","state":"ACTIVE","updated_at":"2026-05-01T12:00:00Z"}}""")]
    [InlineData("""{"id":"e","type":"connection-flow-failed","data":{"integration_tool":"t","integration_category":"HRIS","end_user":{"organization_name":"A"},"log_url":"https://app.kombo.dev/logs/1"}}""")]
    public void Nullable_field_left_out_reads_as_null(string json)
    {
        var webhook = Parse(json, out var problem);

        Assert.Null(problem);
        Assert.NotNull(webhook);
    }

    [Fact]
    public void Unknown_type_is_read_as_unknown_not_refused()
    {
        var webhook = Parse("""{"id":"e6","type":"sync-finished","data":{"anything":1}}""", out var problem);

        Assert.Equal(new UnknownWebhook("e6", "sync-finished"), webhook);
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("""not json""", "not JSON")]
    [InlineData("""{"type":"integration-created","data":{}}""", "id is required")]
    [InlineData("""{"id":"e","type":"integration-created"}""", "data is required")]
    [InlineData("""{"id":"e","type":"integration-created","data":{"id":"x","tool":"t","category":"HRIS"}}""", "data.end_user is required")]
    [InlineData("""{"id":"e","type":"integration-deleted","data":{"id":"x","tool":"t","category":"HRIS","end_user":{"organization_name":"A","creator_email":null,"origin_id":"1"},"deleted_at":"yesterday"}}""", "data.deleted_at must be an ISO 8601")]
    [InlineData("""{"id":7,"type":"integration-created","data":{}}""", "id must be a string")]
    public void Body_that_does_not_fit_is_refused_with_the_field_named(string json, string expected)
    {
        Assert.Null(Parse(json, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }
}
