namespace Kombo.Worker.Connect;

/// <summary>How long Kombo's links live: an <c>EMBEDDED</c> link one hour, a <c>MAGIC_LINK</c> one year.</summary>
internal static class LinkLifetime
{
    public const string Embedded = "EMBEDDED";
    public const string MagicLink = "MAGIC_LINK";

    public static DateTimeOffset ExpiresAt(string linkType, DateTimeOffset createdAt) =>
        createdAt + (linkType == MagicLink ? TimeSpan.FromDays(365) : TimeSpan.FromHours(1));
}
