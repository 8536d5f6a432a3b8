using System.Net;
using System.Text;
using System.Text.Json;

namespace Kombo.Worker.Tests.KomboApi;

/// <summary>Kombo's answers on the wire, as the API reference shows them.</summary>
internal static class KomboResponses
{
    public static HttpResponseMessage Link(string link = "https://connect.kombo.dev/v1?token=link-token") =>
        Success(new { link });

    public static HttpResponseMessage Success(object data) => Json(200, new { status = "success", data });

    public static HttpResponseMessage Integration(string? originId = "customer-1", string? email = "admin@acme.test") =>
        Json(200, new
        {
            status = "success",
            data = new
            {
                tool = "personio",
                id = "personio:CBNMt7dSNCzBdnRTx87dev4E",
                end_user_origin_id = originId,
                end_user_organization_name = "Acme, Inc.",
                end_user_email = email,
                setup_status = "FINAL_SYNC_PENDING",
            },
        });

    public static HttpResponseMessage Error(
        int status, string? code, string message = "Something went wrong.", string? title = null, string? logUrl = "https://app.kombo.dev/logs/1") =>
        Json(status, new { status = "error", error = new { code, title, message, log_url = logUrl } });

    public static HttpResponseMessage Text(int status, string text, string mediaType = "text/html") =>
        new((HttpStatusCode)status) { Content = new StringContent(text, Encoding.UTF8, mediaType) };

    public static HttpResponseMessage Empty(int status) => new((HttpStatusCode)status) { Content = new ByteArrayContent([]) };

    public static HttpResponseMessage Raw(int status, string body) =>
        new((HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    public static HttpResponseMessage WithHeader(this HttpResponseMessage response, string name, string value)
    {
        response.Headers.TryAddWithoutValidation(name, value);
        return response;
    }

    private static HttpResponseMessage Json(int status, object body) => Raw(status, JsonSerializer.Serialize(body));
}
