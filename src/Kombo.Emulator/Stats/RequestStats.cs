using System.Globalization;
using Kombo.Emulator.Connect;
using Kombo.Emulator.Faults;
using Kombo.Emulator.Webhooks;

namespace Kombo.Emulator.Stats;

/// <summary>Call and fault counters, updated with interlocked increments only.</summary>
public sealed class RequestStats
{
    private readonly long[] _statusCodes = new long[600];
    private long _total;
    private long _createLink;
    private long _integrationByToken;
    private long _activateIntegration;
    private long _relink;
    private long _checkApiKey;
    private long _delayed;
    private long _serverError;
    private long _plainText503;
    private long _rateLimited;
    private long _hang;
    private long _linksCreated;
    private long _tokensIssued;
    private long _tokensRedeemed;

    public void Call(string? endpointName)
    {
        Interlocked.Increment(ref _total);
        switch (endpointName)
        {
            case ConnectEndpoints.CreateLink:
                Interlocked.Increment(ref _createLink);
                break;
            case ConnectEndpoints.IntegrationByToken:
                Interlocked.Increment(ref _integrationByToken);
                break;
            case ConnectEndpoints.ActivateIntegration:
                Interlocked.Increment(ref _activateIntegration);
                break;
            case ConnectEndpoints.Relink:
                Interlocked.Increment(ref _relink);
                break;
            case ConnectEndpoints.CheckApiKey:
                Interlocked.Increment(ref _checkApiKey);
                break;
        }
    }

    public void Answered(int statusCode)
    {
        if (statusCode is >= 100 and < 600)
        {
            Interlocked.Increment(ref _statusCodes[statusCode]);
        }
    }

    public void Fault(FaultKind kind)
    {
        switch (kind)
        {
            case FaultKind.Delayed:
                Interlocked.Increment(ref _delayed);
                break;
            case FaultKind.ServerError:
                Interlocked.Increment(ref _serverError);
                break;
            case FaultKind.PlainText503:
                Interlocked.Increment(ref _plainText503);
                break;
            case FaultKind.RateLimited:
                Interlocked.Increment(ref _rateLimited);
                break;
            case FaultKind.Hang:
                Interlocked.Increment(ref _hang);
                break;
        }
    }

    public void LinkCreated() => Interlocked.Increment(ref _linksCreated);

    public void TokensIssued(int count) => Interlocked.Add(ref _tokensIssued, count);

    public void TokenRedeemed() => Interlocked.Increment(ref _tokensRedeemed);

    /// <param name="webhooks">The webhook queue's counts, which <see cref="Reset"/> leaves alone (they describe the queue).</param>
    public StatsSnapshot Snapshot(WebhookCounts webhooks)
    {
        var statusCodes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var code = 100; code < _statusCodes.Length; code++)
        {
            var count = Interlocked.Read(ref _statusCodes[code]);
            if (count > 0)
            {
                statusCodes[code.ToString(CultureInfo.InvariantCulture)] = count;
            }
        }

        return new StatsSnapshot(
            Interlocked.Read(ref _total),
            new EndpointCounts(Interlocked.Read(ref _createLink), Interlocked.Read(ref _integrationByToken),
                Interlocked.Read(ref _activateIntegration), Interlocked.Read(ref _relink), Interlocked.Read(ref _checkApiKey)),
            new FaultCounts(Interlocked.Read(ref _delayed), Interlocked.Read(ref _serverError),
                Interlocked.Read(ref _plainText503), Interlocked.Read(ref _rateLimited), Interlocked.Read(ref _hang)),
            statusCodes,
            Interlocked.Read(ref _linksCreated),
            Interlocked.Read(ref _tokensIssued),
            Interlocked.Read(ref _tokensRedeemed),
            webhooks);
    }

    public void Reset()
    {
        for (var code = 0; code < _statusCodes.Length; code++)
        {
            Interlocked.Exchange(ref _statusCodes[code], 0);
        }

        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _createLink, 0);
        Interlocked.Exchange(ref _integrationByToken, 0);
        Interlocked.Exchange(ref _activateIntegration, 0);
        Interlocked.Exchange(ref _relink, 0);
        Interlocked.Exchange(ref _checkApiKey, 0);
        Interlocked.Exchange(ref _delayed, 0);
        Interlocked.Exchange(ref _serverError, 0);
        Interlocked.Exchange(ref _plainText503, 0);
        Interlocked.Exchange(ref _rateLimited, 0);
        Interlocked.Exchange(ref _hang, 0);
        Interlocked.Exchange(ref _linksCreated, 0);
        Interlocked.Exchange(ref _tokensIssued, 0);
        Interlocked.Exchange(ref _tokensRedeemed, 0);
    }
}
