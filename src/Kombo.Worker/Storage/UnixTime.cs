namespace Kombo.Worker.Storage;

/// <summary>Timestamps are stored as INTEGER Unix milliseconds (UTC), converted here and nowhere else.</summary>
internal static class UnixTime
{
    public static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    /// <summary>The instant as the database will give it back, so an event rebuilt from a row equals the original.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) => FromMs(ToMs(value));
}
