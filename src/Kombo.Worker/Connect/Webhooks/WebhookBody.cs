using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Kombo.Worker.Connect.Webhooks;

/// <summary>
/// Reads a request body as its bytes arrive, up to a cap, computing the signature's HMAC on the way: nothing is
/// reserved for what the client announces, only for what it sends.
/// </summary>
internal static class WebhookBody
{
    public enum Outcome
    {
        Read,
        TooLarge,
        TooSlow,
    }

    /// <param name="secret">The webhook secret, the HMAC's key.</param>
    public static async Task<(Outcome Outcome, ReadOnlyMemory<byte> Body, byte[] Mac)> ReadAsync(
        HttpContext http, byte[] secret, WebhookOptions options, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (request.ContentLength > options.MaxBodyBytes)
        {
            return (Outcome.TooLarge, default, []);
        }

        LimitKestrel(http, options);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > options.MaxBodyBytes)
                {
                    return (Outcome.TooLarge, default, []);
                }

                hmac.AppendData(chunk, 0, read);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            return (ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? Outcome.TooLarge : Outcome.TooSlow, default, []);
        }

        return (Outcome.Read, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), hmac.GetHashAndReset());
    }

    // Per request, so that the health and metrics listener keeps Kestrel's defaults.
    private static void LimitKestrel(HttpContext http, WebhookOptions options)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = options.MaxBodyBytes;
        }

        // HTTP/2 and 3 refuse a per-request rate (Kestrel's connection-wide one applies there).
        if (HttpProtocol.IsHttp11(http.Request.Protocol) && http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = new MinDataRate(options.MinRequestBodyBytesPerSecond, WebhookOptions.MinRequestBodyGracePeriod);
        }
    }
}
