using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Kombo.Emulator.Connect;
using Kombo.Emulator.Integrations;
using Microsoft.Extensions.Options;

namespace Kombo.Emulator;

/// <summary>Links, tokens and integrations in memory. Expired links and tokens are dropped when they are looked up.</summary>
public sealed class EmulatorState(IOptions<EmulatorOptions> options, TimeProvider time)
{
    private static readonly TimeSpan EmbeddedLifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan MagicLinkLifetime = TimeSpan.FromDays(365);

    private readonly ConcurrentDictionary<string, ConnectLink> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Integration> _integrations = new(StringComparer.Ordinal);
    private readonly EmulatorOptions _options = options.Value;
    private long _originNumber;

    public ConnectLink AddLink(CreateLinkRequest request, string? relinkIntegrationId = null)
    {
        var lifetime = request.LinkType == CreateLinkValues.MagicLink ? MagicLinkLifetime : EmbeddedLifetime;
        var link = new ConnectLink(RandomIds.Token(), request, time.GetUtcNow() + lifetime)
        {
            RelinkIntegrationId = relinkIntegrationId,
        };
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

    public Integration AddIntegration(string tool, string category, IntegrationEndUser endUser, string setupStatus)
    {
        var integration = new Integration(RandomIds.IntegrationId(tool), tool, category, endUser, IntegrationValues.Active,
            setupStatus, IntegrationValues.QaPending, time.GetUtcNow());
        _integrations[integration.Id] = integration;
        return integration;
    }

    public bool TryGetIntegration(string id, [MaybeNullWhen(false)] out Integration integration) =>
        _integrations.TryGetValue(id, out integration);

    public bool TryRemoveIntegration(string id, [MaybeNullWhen(false)] out Integration integration) =>
        _integrations.TryRemove(id, out integration);

    /// <summary>Applies <paramref name="change"/> unless the integration is gone; retried if another change won the race.</summary>
    public Integration? UpdateIntegration(string id, Func<Integration, Integration> change)
    {
        while (_integrations.TryGetValue(id, out var current))
        {
            var changed = change(current);
            if (_integrations.TryUpdate(id, changed, current))
            {
                return changed;
            }
        }

        return null;
    }

    public IReadOnlyList<Integration> Integrations() => [.. _integrations.Values.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal)];

    /// <summary>Numbers the origin ids of batch-issued tokens, so no two batches share a customer.</summary>
    public long NextOriginNumber() => Interlocked.Increment(ref _originNumber);

    public void Clear()
    {
        _links.Clear();
        _tokens.Clear();
        _integrations.Clear();
    }
}
