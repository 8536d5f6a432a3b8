using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Kombo.Testing;

/// <summary>Raw HTTP helpers: bodies are written and read as plain JSON, the way any Kombo client would.</summary>
public static class KomboHttp
{
    public const string ValidCreateLinkBody = """
        {"end_user_email":"admin@acme.test","end_user_organization_name":"Acme, Inc.","end_user_origin_id":"customer-1",
         "integration_category":"HRIS","integration_tool":"personio","language":"en","link_type":"EMBEDDED"}
        """;

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    public static async Task<string> CreateLinkAsync(this HttpClient kombo, string body = ValidCreateLinkBody)
    {
        using var response = await kombo.PostJsonAsync("connect/create-link", body);
        response.EnsureSuccessStatusCode();
        return (await response.JsonAsync()).GetProperty("data").GetProperty("link").GetString()!;
    }
}
