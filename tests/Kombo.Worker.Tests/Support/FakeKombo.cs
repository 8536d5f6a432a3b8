using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// Kombo's Connect endpoints as a fake <see cref="HttpMessageHandler"/>: real wire format, canned behaviour.
/// <see cref="Respond"/> overrides the answer per request (faults, errors); returning null falls through.
/// </summary>
public sealed class FakeKombo : HttpMessageHandler
{
    private int _createLinkCalls;
    private int _tokenCalls;
    private int _relinkCalls;
    private int _keyChecks;

    public ConcurrentDictionary<string, object> Integrations { get; } = new();

    public Func<HttpRequestMessage, HttpResponseMessage?>? Respond { get; set; }

    /// <summary>Like <see cref="Respond"/>, asynchronously (to hang or to wait for a signal); runs after it.</summary>
    public Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage?>>? RespondAsync { get; set; }

    /// <summary>As Kombo's tokens are: the first redemption of a token spends it, later ones get 404 INPUT_INVALID.</summary>
    public bool SingleUseTokens { get; set; }

    public int CreateLinkCalls => Volatile.Read(ref _createLinkCalls);

    public int TokenCalls => Volatile.Read(ref _tokenCalls);

    public int RelinkCalls => Volatile.Read(ref _relinkCalls);

    public int KeyChecks => Volatile.Read(ref _keyChecks);

    /// <summary>Integration ids that relink knows; others answer 404 <c>PLATFORM.INTEGRATION_NOT_FOUND</c>.</summary>
    public ConcurrentDictionary<string, bool> RelinkableIntegrations { get; } = new();

    /// <summary>The bodies of relink requests, by integration id as the path named it.</summary>
    public ConcurrentQueue<(string IntegrationId, string Body)> RelinkRequests { get; } = new();

    public void AddToken(string token, string integrationId, string? originId, string tool = "personio", string setupStatus = "COMPLETED") =>
        Integrations[token] = new
        {
            tool,
            id = integrationId,
            end_user_origin_id = originId,
            end_user_organization_name = "Acme, Inc.",
            end_user_email = "admin@acme.test",
            setup_status = setupStatus,
        };

    public static HttpResponseMessage Error(HttpStatusCode status, string? code, string message = "Something went wrong.") =>
        Json(status, new { status = "error", error = new { code, title = (string?)null, message, log_url = "https://app.kombo.dev/logs/1" } });

    public static HttpResponseMessage PlainText(HttpStatusCode status, string text) =>
        new(status) { Content = new StringContent(text, Encoding.UTF8, "text/html") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (path.EndsWith("/connect/create-link", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _createLinkCalls);
        }
        else if (path.EndsWith("/relink", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _relinkCalls);
        }
        else if (path.EndsWith("/check-api-key", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _keyChecks);
        }
        else
        {
            Interlocked.Increment(ref _tokenCalls);
        }

        if (Respond?.Invoke(request) is { } overridden)
        {
            return overridden;
        }

        if (RespondAsync is { } respondAsync && await respondAsync(request, cancellationToken) is { } later)
        {
            return later;
        }

        if (request.Headers.Authorization?.Parameter != Harness.ApiKey)
        {
            return Error(HttpStatusCode.Unauthorized, "PLATFORM.AUTHENTICATION_INVALID", "The API key is invalid.");
        }

        if (path.EndsWith("/check-api-key", StringComparison.Ordinal))
        {
            return Json(HttpStatusCode.OK, new { status = "success", data = new { environment_id = "env-test" } });
        }

        if (path.EndsWith("/connect/create-link", StringComparison.Ordinal))
        {
            var link = $"https://connect.kombo.test/v1?token={Guid.NewGuid():N}";
            return Json(HttpStatusCode.OK, new { status = "success", data = new { link } });
        }

        if (path.EndsWith("/relink", StringComparison.Ordinal))
        {
            var segments = request.RequestUri.AbsolutePath.Split('/');
            var integrationId = Uri.UnescapeDataString(segments[^2]);
            RelinkRequests.Enqueue((integrationId, await request.Content!.ReadAsStringAsync(cancellationToken)));
            return RelinkableIntegrations.ContainsKey(integrationId)
                ? Json(HttpStatusCode.OK, new { status = "success", data = new { link = $"https://connect.kombo.test/v1?token=relink{Guid.NewGuid():N}" } })
                : Error(HttpStatusCode.NotFound, "PLATFORM.INTEGRATION_NOT_FOUND", "The integration does not exist.");
        }

        var token = path.Contains("/integration-by-token/", StringComparison.Ordinal)
            ? Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..])
            : JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("token").GetString()!;
        return AnswerToken(token);
    }

    /// <summary>What integration-by-token answers for <paramref name="token"/> (spending it, with single-use tokens).</summary>
    public HttpResponseMessage AnswerToken(string token)
    {
        var found = SingleUseTokens ? Integrations.TryRemove(token, out var integration) : Integrations.TryGetValue(token, out integration);
        return found
            ? Json(HttpStatusCode.OK, new { status = "success", data = integration })
            : Error(HttpStatusCode.NotFound, "PLATFORM.INPUT_INVALID", "The token is invalid or has expired.");
    }

    private static HttpResponseMessage Json(HttpStatusCode status, object body) =>
        new(status) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
}
