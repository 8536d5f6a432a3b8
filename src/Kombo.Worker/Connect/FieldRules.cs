namespace Kombo.Worker.Connect;

/// <summary>Checks shared by the command validators; each returns a problem description or null.</summary>
internal static class FieldRules
{
    public static string? Required(string field, string? value, int maxLength) =>
        string.IsNullOrWhiteSpace(value) ? $"{field} is required." : Optional(field, value, maxLength);

    public static string? Optional(string field, string? value, int maxLength)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length == 0 || value.Length > maxLength)
        {
            return $"{field} must be 1 to {maxLength} characters long.";
        }

        return value.Any(char.IsControl) ? $"{field} must not contain control characters." : null;
    }

    public static string? OneOf(string field, string? value, IReadOnlyCollection<string> allowed) =>
        value is null || allowed.Contains(value, StringComparer.Ordinal)
            ? null
            : $"{field} must be one of {string.Join(", ", allowed)}.";
}
