using System.Collections.Concurrent;
using System.Diagnostics;

namespace Kombo.Worker.Tests.KomboApi;

/// <summary>
/// Kombo behind a scripted <see cref="HttpMessageHandler"/>: each call takes the next scripted answer, then
/// <see cref="Otherwise"/>. Every request is recorded with the (fake) time it arrived.
/// </summary>
internal sealed class FakeKomboHandler(TimeProvider time) : HttpMessageHandler
{
    private readonly ConcurrentQueue<Func<CancellationToken, Task<HttpResponseMessage>>> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly SemaphoreSlim _called = new(0);

    public Func<CancellationToken, Task<HttpResponseMessage>> Otherwise { get; set; } = _ => Task.FromResult(KomboResponses.Link());

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public int Calls => _requests.Count;

    public FakeKomboHandler Then(Func<HttpResponseMessage> respond)
    {
        _script.Enqueue(_ => Task.FromResult(respond()));
        return this;
    }

    public FakeKomboHandler ThenThrow(Exception exception)
    {
        _script.Enqueue(_ => Task.FromException<HttpResponseMessage>(exception));
        return this;
    }

    public FakeKomboHandler ThenHang()
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

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        _requests.Enqueue(new RecordedRequest(
            time.GetUtcNow(),
            request.Method,
            request.RequestUri!,
            request.Headers.Authorization?.ToString(),
            request.Headers.Accept.ToString(),
            request.Content?.Headers.ContentType?.ToString(),
            body));
        _called.Release();

        var respond = _script.TryDequeue(out var next) ? next : Otherwise;
        return await respond(cancellationToken);
    }

    private static async Task<HttpResponseMessage> HangAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new UnreachableException();
    }
}

internal sealed record RecordedRequest(
    DateTimeOffset At, HttpMethod Method, Uri Uri, string? Authorization, string Accept, string? ContentType, string? Body);
