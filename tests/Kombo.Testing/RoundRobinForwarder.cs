using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kombo.Testing;

/// <summary>
/// A plain HTTP forwarder on a loopback port that hands each request to the next of several targets in turn, as a
/// load balancer in front of several workers would: Kombo's webhooks reach every instance, and a target that refuses
/// the connection (killed, or not listening yet) is skipped for the next one. When none answers, the caller gets 502
/// and retries, as Kombo does. Method, path, query, headers (the signature among them) and body pass unchanged.
/// </summary>
public sealed class RoundRobinForwarder : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Expect",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly IReadOnlyList<Uri> _targets;
    private int _next = -1;
    private long _forwarded;
    private long _skipped;

    private RoundRobinForwarder(WebApplication app, IReadOnlyList<Uri> targets)
    {
        _app = app;
        _targets = targets;
    }

    /// <summary>Requests answered by a target.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Attempts that found a target refusing the connection and moved on to the next.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <param name="port">The port to listen on, at 127.0.0.1.</param>
    /// <param name="targets">Base addresses such as <c>http://127.0.0.1:5001/</c>; the request's path is appended.</param>
    public static async Task<RoundRobinForwarder> StartAsync(int port, IReadOnlyList<Uri> targets)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var forwarder = new RoundRobinForwarder(app, targets);
        app.Run(forwarder.ForwardAsync);
        await app.StartAsync();
        return forwarder;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var first = Interlocked.Increment(ref _next);
        for (var attempt = 0; attempt < _targets.Count; attempt++)
        {
            var target = _targets[(int)((uint)(first + attempt) % (uint)_targets.Count)];
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method),
                new Uri(target, context.Request.Path.Value?.TrimStart('/') + context.Request.QueryString))
            {
                Content = new ByteArrayContent(body.ToArray()),
            };
            foreach (var (name, values) in context.Request.Headers)
            {
                if (!HopHeaders.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                {
                    request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
                }
            }

            try
            {
                using var response = await _client.SendAsync(request, context.RequestAborted);
                context.Response.StatusCode = (int)response.StatusCode;
                await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
                Interlocked.Increment(ref _forwarded);
                return;
            }
            catch (HttpRequestException)
            {
                // Refused or reset: that instance is down; the next one may take it.
                Interlocked.Increment(ref _skipped);
            }
        }

        context.Response.StatusCode = StatusCodes.Status502BadGateway;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _client.Dispose();
    }
}
