using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Kombo.Worker.Tests.KomboApi;

namespace Kombo.Worker.Tests.Support;

/// <summary>
/// Kombo's Connect endpoints as a fake <see cref="HttpMessageHandler"/>, real wire format. Every request is recorded
/// with the (fake) time it arrived. Each call takes the next scripted answer (<see cref="Then"/>), else what
/// <see cref="Respond"/> or <see cref="RespondAsync"/> answer (returning null falls through), else
/// <see cref="Otherwise"/>, else Kombo's canned behaviour: links, tokens, relink and the key check.
/// </summary>
internal sealed class FakeKombo(TimeProvider? time = null) : HttpMessageHandler
{
    private readonly ConcurrentQueue<Func<CancellationToken, Task<HttpResponseMessage>>> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly SemaphoreSlim _called = new(0);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private int _createLinkCalls;
    private int _tokenCalls;
    private int _relinkCalls;
    private int _keyChecks;

    public ConcurrentDictionary<string, object> Integrations { get; } = new();

    public Func<HttpRequestMessage, HttpResponseMessage?>? Respond { get; set; }

    /// <summary>Like <see cref="Respond"/>, asynchronously (to hang or to wait for a signal); runs after it.</summary>
    public Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage?>>? RespondAsync { get; set; }

    /// <summary>Answers every call nothing else answered; null answers as Kombo would (see the summary).</summary>
    public Func<CancellationToken, Task<HttpResponseMessage>>? Otherwise { get; set; }

    /// <summary>As Kombo's tokens are: the first redemption of a token spends it, later ones get 404 INPUT_INVALID.</summary>
    public bool SingleUseTokens { get; set; }

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public int Calls => _requests.Count;

    public int CreateLinkCalls => Volatile.Read(ref _createLinkCalls);

    public int TokenCalls => Volatile.Read(ref _tokenCalls);

    public int RelinkCalls => Volatile.Read(ref _relinkCalls);

    public int KeyChecks => Volatile.Read(ref _keyChecks);

    /// <summary>Integration ids that relink knows; others answer 404 <c>PLATFORM.INTEGRATION_NOT_FOUND</c>.</summary>
    public ConcurrentDictionary<string, bool> RelinkableIntegrations { get; } = new();

    /// <summary>The bodies of relink requests, by integration id as the path named it.</summary>
    public ConcurrentQueue<(string IntegrationId, string Body)> RelinkRequests { get; } = new();

    /// <summary>For the Kombo client's own tests: a call nothing scripted answers gets a link, whatever its path or key.</summary>
    public static FakeKombo AnsweringLinks(TimeProvider time) => new(time) { Otherwise = _ => Task.FromResult(KomboResponses.Link()) };

    public FakeKombo Then(Func<HttpResponseMessage> respond)
    {
        _script.Enqueue(_ => Task.FromResult(respond()));
        return this;
    }

    public FakeKombo ThenThrow(Exception exception)
    {
        _script.Enqueue(_ => Task.FromException<HttpResponseMessage>(exception));
        return this;
    }

    public FakeKombo ThenHang()
    {
        _script.Enqueue(HangAsync);
        return this;
    }

    public void Always(Func<HttpResponseMessage> respond) => Otherwise = _ => Task.FromResult(respond());

    public void AlwaysHang() => Otherwise = HangAsync;

    /// <summary>Waits, bounded, until at least <paramref name="count"/> requests have arrived.</summary>
    public async Task WaitForCallsAsync(int count)
    {
        while (Calls < count)
        {
            if (!await _called.WaitAsync(TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException($"Expected {count} calls to Kombo, saw {Calls}.");
            }
        }
    }

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
        KomboResponses.Error((int)status, code, message);

    public static HttpResponseMessage PlainText(HttpStatusCode status, string text) => KomboResponses.Text((int)status, text);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        _requests.Enqueue(new RecordedRequest(
            _time.GetUtcNow(),
            request.Method,
            request.RequestUri!,
            request.Headers.Authorization?.ToString(),
            request.Headers.Accept.ToString(),
            request.Content?.Headers.ContentType?.ToString(),
            body));
        Count(request.RequestUri!.AbsolutePath);
        _called.Release();

        if (_script.TryDequeue(out var next))
        {
            return await next(cancellationToken);
        }

        if (Respond?.Invoke(request) is { } overridden)
        {
            return overridden;
        }

        if (RespondAsync is { } respondAsync && await respondAsync(request, cancellationToken) is { } later)
        {
            return later;
        }

        return Otherwise is { } otherwise ? await otherwise(cancellationToken) : Answer(request, body);
    }

    /// <summary>What integration-by-token answers for <paramref name="token"/> (spending it, with single-use tokens).</summary>
    public HttpResponseMessage AnswerToken(string token)
    {
        var found = SingleUseTokens ? Integrations.TryRemove(token, out var integration) : Integrations.TryGetValue(token, out integration);
        return found
            ? KomboResponses.Success(integration!)
            : Error(HttpStatusCode.NotFound, "PLATFORM.INPUT_INVALID", "The token is invalid or has expired.");
    }

    private void Count(string path)
    {
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
    }

    private HttpResponseMessage Answer(HttpRequestMessage request, string? body)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (request.Headers.Authorization?.Parameter != Harness.ApiKey)
        {
            return Error(HttpStatusCode.Unauthorized, "PLATFORM.AUTHENTICATION_INVALID", "The API key is invalid.");
        }

        if (path.EndsWith("/check-api-key", StringComparison.Ordinal))
        {
            return KomboResponses.Success(new { environment_id = "env-test" });
        }

        if (path.EndsWith("/connect/create-link", StringComparison.Ordinal))
        {
            return KomboResponses.Link($"https://connect.kombo.test/v1?token={Guid.NewGuid():N}");
        }

        if (path.EndsWith("/relink", StringComparison.Ordinal))
        {
            var segments = path.Split('/');
            var integrationId = Uri.UnescapeDataString(segments[^2]);
            RelinkRequests.Enqueue((integrationId, body!));
            return RelinkableIntegrations.ContainsKey(integrationId)
                ? KomboResponses.Link($"https://connect.kombo.test/v1?token=relink{Guid.NewGuid():N}")
                : Error(HttpStatusCode.NotFound, "PLATFORM.INTEGRATION_NOT_FOUND", "The integration does not exist.");
        }

        var token = path.Contains("/integration-by-token/", StringComparison.Ordinal)
            ? Uri.UnescapeDataString(path[(path.LastIndexOf('/') + 1)..])
            : JsonDocument.Parse(body!).RootElement.GetProperty("token").GetString()!;
        return AnswerToken(token);
    }

    private static async Task<HttpResponseMessage> HangAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new UnreachableException();
    }
}

internal sealed record RecordedRequest(
    DateTimeOffset At, HttpMethod Method, Uri Uri, string? Authorization, string Accept, string? ContentType, string? Body);
