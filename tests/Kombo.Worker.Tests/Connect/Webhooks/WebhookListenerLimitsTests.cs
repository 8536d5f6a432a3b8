using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Kombo.Testing;
using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Kombo.Worker.Tests.Connect.Webhooks;

/// <summary>
/// What the webhook listener spends on clients that are not Kombo, measured over sockets against the real listener.
/// Not in parallel with other tests: one of them counts the bytes the whole process allocates.
/// </summary>
[Collection(nameof(WebhookListenerLimitsTests))]
public sealed class WebhookListenerLimitsTests(ITestOutputHelper output)
{
    private const string Refused = "kombo.worker.webhooks.refused";

    [Fact]
    public async Task Trickling_body_is_cut_within_seconds()
    {
        await using var host = await WebhookListenerHost.StartAsync();
        using var client = await ConnectAsync(host);
        var stream = client.GetStream();
        await WriteAsync(stream, Headers(host, contentLength: 256 * 1024));

        // 500 bytes a second: above Kestrel's default minimum rate (240 B/s), far below anything Kombo would send.
        var held = Stopwatch.StartNew();
        var limit = TimeSpan.FromSeconds(20);
        var cut = false;
        while (held.Elapsed < limit && !cut)
        {
            cut = !await TryWriteAsync(stream, new byte[50]) || IsClosed(client.Client);
            await Task.Delay(100);
        }

        output.WriteLine($"trickling request held for {held.Elapsed.TotalSeconds:F1} s (cut: {cut})");
        Assert.True(cut, $"a body trickling at 500 B/s was still held after {limit.TotalSeconds} s");
        Assert.True(held.Elapsed < TimeSpan.FromSeconds(10), $"held {held.Elapsed.TotalSeconds:F1} s");
        await Eventually.HoldsAsync(() => host.Metrics.Sum(Refused, ("reason", "too_slow")) == 1, "the cut request was counted");
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_refused_and_a_signed_webhook_is_still_answered()
    {
        await using var host = await WebhookListenerHost.StartAsync(new()
        {
            ["Webhooks:MaxConnections"] = "20",
            ["Webhooks:RequestHeadersTimeout"] = "00:00:02",
        });

        // 200 connections that never send a request: the cap keeps 20, the rest are closed at once.
        var idle = new List<TcpClient>();
        for (var i = 0; i < 200; i++)
        {
            idle.Add(await ConnectAsync(host));
        }

        await Eventually.HoldsAsync(() => idle.Count(c => IsClosed(c.Client)) >= 180, "the connections beyond the cap were closed",
            TimeSpan.FromSeconds(5));
        var refused = host.Metrics.Sum(Refused, ("reason", "connection_limit"));
        output.WriteLine($"idle connections closed at once: {idle.Count(c => IsClosed(c.Client))} of 200; counted refused: {refused}");
        Assert.True(refused >= 180, $"refused {refused}");

        // Kombo delivers again what fails; within the headers timeout the idle connections are gone and it is answered.
        var answered = Stopwatch.StartNew();
        using var http = new HttpClient();
        var status = HttpStatusCode.ServiceUnavailable;
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                status = (await PostSignedAsync(http, host, WebhookJson.Created("evt-cap", "personio:cap"))).StatusCode;
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "the signed webhook was answered", TimeSpan.FromSeconds(15));
        output.WriteLine($"signed webhook answered {(int)status} after {answered.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(HttpStatusCode.OK, status);
        idle.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task Flood_of_forged_requests_leaves_a_short_log_and_counts_each()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var host = await WebhookListenerHost.StartAsync(time: time);
        using var http = new HttpClient();
        var body = Encoding.UTF8.GetBytes(WebhookJson.Created("evt-forged", "personio:forged"));

        await Parallel.ForAsync(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, cancellationToken) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, host.Address) { Content = new ByteArrayContent(body) };
            request.Headers.Add(WebhookSignature.Header, "Zm9yZ2VkLXNpZ25hdHVyZQ");
            using var response = await http.SendAsync(request, cancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        });
        output.WriteLine($"log lines while the flood arrived: {host.WebhookLogLines().Count(l => !l.Contains("Webhooks are on", StringComparison.Ordinal))}");
        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually.HoldsAsync(() => host.WebhookLogLines().Any(l => l.Contains("1,999 more", StringComparison.Ordinal)),
            "the summary of the minute was written", TimeSpan.FromSeconds(5));

        var lines = host.WebhookLogLines().Where(l => !l.Contains("Webhooks are on", StringComparison.Ordinal)).ToList();
        output.WriteLine($"log lines for 2,000 forged requests: {lines.Count}");
        lines.Take(5).ToList().ForEach(output.WriteLine);
        Assert.True(lines.Count <= 3, $"{lines.Count} log lines");
        Assert.Equal(2000, host.Metrics.Sum(Refused, ("reason", "unauthorized")));
    }

    [Fact]
    public async Task Large_webhook_of_an_unhandled_type_is_acknowledged_and_counted_by_type()
    {
        await using var host = await WebhookListenerHost.StartAsync();
        using var http = new HttpClient();
        var body = """{"id":"evt-large","type":"assessment:order-received","data":{"blob":"PAD"}}""".Replace("PAD", new string('x', 7 * 1024 * 1024), StringComparison.Ordinal);

        using var response = await PostSignedAsync(http, host, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, host.Metrics.Sum("kombo.worker.webhooks", ("type", "assessment:order-received"), ("outcome", "unknown_type")));
    }

    [Fact]
    public async Task Body_over_the_cap_is_refused_413_before_it_arrives()
    {
        await using var host = await WebhookListenerHost.StartAsync();
        using var client = await ConnectAsync(host);
        var stream = client.GetStream();

        await WriteAsync(stream, Headers(host, contentLength: 9 * 1024 * 1024));
        await TryWriteAsync(stream, new byte[64 * 1024]);
        var answer = await ReadStatusLineAsync(stream);

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Sum(Refused, ("reason", "too_large")));
    }

    [Fact]
    public async Task Declared_length_reserves_no_memory_before_the_bytes_arrive()
    {
        await using var host = await WebhookListenerHost.StartAsync(new() { ["Webhooks:MaxBodyBytes"] = (8 * 1024 * 1024).ToString(CultureInfo.InvariantCulture) });
        using var client = await ConnectAsync(host);
        var stream = client.GetStream();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await WriteAsync(stream, Headers(host, contentLength: 7 * 1024 * 1024));
        await TryWriteAsync(stream, new byte[1024]);
        await Task.Delay(500);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        output.WriteLine($"allocated while 1 KiB of a declared 7 MiB body arrived: {allocated / 1024} KiB");
        Assert.True(allocated < 2 * 1024 * 1024, $"allocated {allocated} bytes");
    }

    private static async Task<HttpResponseMessage> PostSignedAsync(HttpClient http, WebhookListenerHost host, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, host.Address) { Content = new ByteArrayContent(bytes) };
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Compute(WebhookListenerHost.Secret, bytes));
        return await http.SendAsync(request);
    }

    private static async Task<TcpClient> ConnectAsync(WebhookListenerHost host)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.Port);
        return client;
    }

    private static string Headers(WebhookListenerHost host, long contentLength) =>
        $"POST {WebhookOptions.Path} HTTP/1.1\r\nHost: 127.0.0.1:{host.Port}\r\nContent-Type: application/json\r\n" +
        $"{WebhookSignature.Header}: Zm9yZ2Vk\r\nContent-Length: {contentLength}\r\n\r\n";

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    private static async Task<bool> TryWriteAsync(NetworkStream stream, byte[] bytes)
    {
        try
        {
            await stream.WriteAsync(bytes);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    // The server has answered or closed the connection: either way the socket reads as readable.
    private static bool IsClosed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead);
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private static async Task<string> ReadStatusLineAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}

[CollectionDefinition(nameof(WebhookListenerLimitsTests), DisableParallelization = true)]
public sealed class WebhookListenerLimitsCollection;
