namespace Kombo.Worker.Connect.Webhooks;

/// <summary>The webhook listener's addresses, as Kestrel reads them.</summary>
internal static class WebhookListener
{
    public static IReadOnlyList<string> Addresses(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The ports connections to the webhook listener arrive on; each address must name one of its own.</summary>
    public static HashSet<int> Ports(string urls) =>
        Addresses(urls).Select(address => BindingAddress.Parse(address).Port).ToHashSet();

    /// <returns>The problems with the addresses next to the health and metrics listener's, empty when none.</returns>
    public static IEnumerable<string> Problems(string webhookUrls, string? healthUrls)
    {
        var healthPorts = healthUrls is null ? [] : Addresses(healthUrls).Select(TryParse).OfType<BindingAddress>().Select(b => b.Port).ToHashSet();
        foreach (var address in Addresses(webhookUrls))
        {
            if (TryParse(address) is not { } binding)
            {
                yield return $"Webhooks:Urls: '{address}' is not an address such as http://0.0.0.0:8082.";
                continue;
            }

            if (binding.Port <= 0 || !NamesPort(address))
            {
                yield return $"Webhooks:Urls: '{address}' needs an explicit port, so that the listeners can be told apart.";
            }
            else if (healthPorts.Contains(binding.Port))
            {
                yield return $"Webhooks:Urls: port {binding.Port} is the health and metrics listener's (Urls); give webhooks a port of their own.";
            }
        }
    }

    private static BindingAddress? TryParse(string address)
    {
        try
        {
            return BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    // BindingAddress gives http://host port 80 when none is written; the listeners must name theirs.
    private static bool NamesPort(string address)
    {
        var authority = address[(address.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/')[0];
        return authority[(authority.LastIndexOf(']') + 1)..].Contains(':');
    }
}
