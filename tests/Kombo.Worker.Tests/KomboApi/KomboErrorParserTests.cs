using System.Text;
using Kombo.Worker.KomboApi;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboErrorParserTests
{
    [Fact]
    public void A_full_Kombo_error_body_is_read_field_by_field()
    {
        var error = Parse(400, """
            {"status":"error","error":{"code":"PLATFORM.INPUT_INVALID","title":"Input invalid",
             "message":"end_user_email is invalid","log_url":"https://app.kombo.dev/my-prod/logs?interactionId=1"}}
            """);

        Assert.Equal(new KomboError(400, "PLATFORM.INPUT_INVALID", "Input invalid", "end_user_email is invalid",
            "https://app.kombo.dev/my-prod/logs?interactionId=1"), error);
    }

    [Fact]
    public void The_documented_minimal_form_with_null_fields_is_accepted() =>
        Assert.Equal(new KomboError(500, null, null, "Boom.", null),
            Parse(500, """{"status":"error","error":{"code":null,"title":null,"message":"Boom.","log_url":null}}"""));

    [Theory]
    [InlineData("<html><body>503 Service Unavailable</body></html>", "HTTP 503 with a non-JSON body")]
    [InlineData("Service Unavailable", "HTTP 503 with a non-JSON body")]
    [InlineData("", "HTTP 503 with an empty body")]
    [InlineData(" \r\n ", "HTTP 503 with an empty body")]
    [InlineData("[1,2]", "HTTP 503 with a JSON body that is not a Kombo error")]
    [InlineData("""{"message":"upstream timed out"}""", "HTTP 503 with a JSON body that is not a Kombo error")]
    [InlineData("""{"status":"error","error":"overloaded"}""", "HTTP 503 with a JSON body that is not a Kombo error")]
    [InlineData("""{"status":"error","error":{"code":"X""", "HTTP 503 with a non-JSON body")]
    public void A_body_that_is_not_a_Kombo_error_still_gives_an_error_with_the_status(string body, string message) =>
        Assert.Equal(new KomboError(503, null, null, message, null), Parse(503, body));

    [Fact]
    public void Fields_of_the_wrong_type_are_ignored_rather_than_thrown_on()
    {
        var error = Parse(400, """{"error":{"code":42,"title":["x"],"message":"Bad input.","log_url":{}}}""");

        Assert.Equal(new KomboError(400, null, null, "Bad input.", null), error);
    }

    [Fact]
    public void A_missing_message_falls_back_to_the_title_then_to_a_description()
    {
        Assert.Equal("Input invalid", Parse(400, """{"error":{"code":"PLATFORM.INPUT_INVALID","title":"Input invalid"}}""").Message);
        Assert.Equal("HTTP 400 with a Kombo error without a message", Parse(400, """{"error":{"code":"PLATFORM.INPUT_INVALID"}}""").Message);
    }

    private static KomboError Parse(int status, string body) => KomboErrorParser.Parse(status, Encoding.UTF8.GetBytes(body));
}
