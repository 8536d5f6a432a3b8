namespace Kombo.Emulator.Connect;

/// <summary>The closed value sets of create-link.</summary>
public static class CreateLinkValues
{
    public const string Embedded = "EMBEDDED";
    public const string MagicLink = "MAGIC_LINK";

    public static readonly string[] LinkTypes = [Embedded, MagicLink];
    public static readonly string[] Categories = ["HRIS", "ATS", "ASSESSMENT", "LMS"];
    public static readonly string[] Languages = ["en", "de", "fr", "it", "es"];
}
