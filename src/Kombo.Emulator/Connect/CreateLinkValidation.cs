using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kombo.Emulator.Connect;

/// <summary>
/// Checks a create-link body the way Kombo's schema does: required fields, the email
/// format, <c>minLength: 1</c>, the closed value sets, and <c>null</c> only where the schema allows it.
/// </summary>
public static partial class CreateLinkValidation
{
    public static CreateLinkRequest? Validate(JsonElement body, List<string> problems)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"Expected the body to be a JSON object, received {Describe(body.ValueKind)}.");
            return null;
        }

        var email = RequiredString(body, "end_user_email", problems);
        if (email is not null && !EmailFormat().IsMatch(email))
        {
            problems.Add("end_user_email: Invalid email.");
        }

        var organization = RequiredString(body, "end_user_organization_name", problems);
        if (organization is { Length: 0 })
        {
            problems.Add("end_user_organization_name: String must contain at least 1 character(s).");
        }

        var originId = NullableString(body, "end_user_origin_id", problems, nonEmpty: true);
        var remoteEnvironment = NullableString(body, "remote_environment", problems);
        var category = OneOf(body, "integration_category", CreateLinkValues.Categories, "HRIS", nullable: false, problems);
        var tool = NullableString(body, "integration_tool", problems, nonEmpty: true);
        var language = OneOf(body, "language", CreateLinkValues.Languages, "en", nullable: true, problems);
        var scopeConfigId = NullableString(body, "scope_config_id", problems);
        var filtering = Boolean(body, "enable_filtering", problems);
        var fieldMapping = Boolean(body, "enable_field_mapping", problems);
        var linkType = OneOf(body, "link_type", CreateLinkValues.LinkTypes, CreateLinkValues.Embedded, nullable: false, problems);

        if (remoteEnvironment is not null && tool is null)
        {
            problems.Add("remote_environment: Can only be used together with integration_tool.");
        }

        return problems.Count > 0
            ? null
            : new CreateLinkRequest(email!, organization!, originId, remoteEnvironment, category!, tool, language!,
                scopeConfigId, filtering, fieldMapping, linkType!);
    }

    private static string? RequiredString(JsonElement body, string name, List<string> problems)
    {
        if (!body.TryGetProperty(name, out var value))
        {
            problems.Add($"{name}: Required.");
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{name}: Expected string, received {Describe(value.ValueKind)}.");
            return null;
        }

        return value.GetString();
    }

    internal static string? NullableString(JsonElement body, string name, List<string> problems, bool nonEmpty = false)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{name}: Expected string or null, received {Describe(value.ValueKind)}.");
            return null;
        }

        var text = value.GetString()!;
        if (nonEmpty && text.Length == 0)
        {
            problems.Add($"{name}: String must contain at least 1 character(s).");
        }

        return text;
    }

    internal static string? OneOf(
        JsonElement body, string name, string[] allowed, string fallback, bool nullable, List<string> problems)
    {
        if (!body.TryGetProperty(name, out var value) || (nullable && value.ValueKind == JsonValueKind.Null))
        {
            return fallback;
        }

        if (value.ValueKind == JsonValueKind.String && Array.IndexOf(allowed, value.GetString()) >= 0)
        {
            return value.GetString();
        }

        var received = value.ValueKind == JsonValueKind.String ? $"'{value.GetString()}'" : Describe(value.ValueKind);
        problems.Add($"{name}: Invalid enum value. Expected {string.Join(" | ", allowed.Select(a => $"'{a}'"))}, received {received}.");
        return null;
    }

    private static bool Boolean(JsonElement body, string name, List<string> problems)
    {
        if (!body.TryGetProperty(name, out var value))
        {
            return false;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        problems.Add($"{name}: Expected boolean, received {Describe(value.ValueKind)}.");
        return false;
    }

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        _ => "object",
    };

    // The pattern Kombo's spec attaches to end_user_email (the by-token response schema).
    [GeneratedRegex(@"^(?!\.)(?!.*\.\.)([\w'+-.]*)[\w+-]@([\da-z][\da-z-]*\.)+[a-z]{2,}$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex EmailFormat();
}
