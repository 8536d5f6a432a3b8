using System.Diagnostics.CodeAnalysis;
using Kombo.Emulator.Connect;
using Microsoft.AspNetCore.WebUtilities;

namespace Kombo.Emulator.EndUser;

/// <summary>Finds the link an admin call names by its full URL, as the end user's browser would open it.</summary>
public static class EndUserLinks
{
    public static bool TryFind(
        string? url, EmulatorState state, [MaybeNullWhen(false)] out ConnectLink link, [MaybeNullWhen(true)] out IResult problem)
    {
        link = null;
        if (Token(url) is not { } token)
        {
            problem = AdminErrors.BadRequest("link: Expected the full link returned by create-link (…/connect/v1?token=…).");
            return false;
        }

        if (!state.TryGetLink(token, out link))
        {
            problem = AdminErrors.NotFound("The link is unknown or has expired.");
            return false;
        }

        problem = null;
        return true;
    }

    private static string? Token(string? link)
    {
        if (!Uri.TryCreate(link, UriKind.Absolute, out var uri))
        {
            return null;
        }

        var token = QueryHelpers.ParseQuery(uri.Query).GetValueOrDefault("token").ToString();
        return token.Length > 0 ? token : null;
    }
}
