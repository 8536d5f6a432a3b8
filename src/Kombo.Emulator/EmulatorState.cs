using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Kombo.Emulator.Connect;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator;

/// <summary>Links and tokens in memory. Expired entries are dropped when they are looked up.</summary>
public sealed class EmulatorState(IOptions<EmulatorOptions> options, TimeProvider time)
{
    private static readonly TimeSpan EmbeddedLifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan MagicLinkLifetime = TimeSpan.FromDays(365);

    private readonly ConcurrentDictionary<string, ConnectLink> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);
    private readonly EmulatorOptions _options = options.Value;
    private long _originNumber;

    public ConnectLink AddLink(CreateLinkRequest request)
    {
        var lifetime = request.LinkType == CreateLinkValues.MagicLink ? MagicLinkLifetime : EmbeddedLifetime;
        var link = new ConnectLink(RandomIds.Token(), request, time.GetUtcNow() + lifetime);
        _links[link.Token] = link;
        return link;
    }

    public bool TryGetLink(string token, [MaybeNullWhen(false)] out ConnectLink link)
    {
        if (_links.TryGetValue(token, out link) && time.GetUtcNow() < link.ExpiresAt)
        {
            return true;
        }

        _links.TryRemove(token, out _);
        link = null;
        return false;
    }

    public IssuedToken IssueToken(ConnectedIntegration integration)
    {
        var token = new IssuedToken(RandomIds.Token(), integration, time.GetUtcNow() + _options.TokenLifetime);
        _tokens[token.Token] = token;
        return token;
    }

    /// <summary>Unknown, expired and (with <see cref="EmulatorOptions.SingleUseTokens"/>) used tokens all fail alike.</summary>
    public bool TryRedeem(string token, [MaybeNullWhen(false)] out ConnectedIntegration integration)
    {
        integration = null;
        var found = _options.SingleUseTokens
            ? _tokens.TryRemove(token, out var issued)
            : _tokens.TryGetValue(token, out issued);
        if (!found || issued is null)
        {
            return false;
        }

        if (time.GetUtcNow() >= issued.ExpiresAt)
        {
            _tokens.TryRemove(token, out _);
            return false;
        }

        integration = issued.Integration;
        return true;
    }

    /// <summary>Numbers the origin ids of batch-issued tokens, so no two batches share a customer.</summary>
    public long NextOriginNumber() => Interlocked.Increment(ref _originNumber);

    public void Clear()
    {
        _links.Clear();
        _tokens.Clear();
    }
}
