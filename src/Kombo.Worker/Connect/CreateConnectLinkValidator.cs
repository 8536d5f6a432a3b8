using System.Text.RegularExpressions;
using Kombo.Contracts;

namespace Kombo.Worker.Connect;

/// <summary>Checks a <see cref="CreateConnectLink"/> against what Kombo accepts, before any call is made.</summary>
internal static partial class CreateConnectLinkValidator
{
    public static readonly string[] Categories = ["HRIS", "ATS", "ASSESSMENT", "LMS"];
    public static readonly string[] Languages = ["en", "de", "fr", "it", "es"];
    public static readonly string[] LinkTypes = ["EMBEDDED", "MAGIC_LINK"];

    /// <returns>The problems found, empty when the command is valid.</returns>
    public static IReadOnlyList<string> Validate(CreateConnectLink command)
    {
        string?[] problems =
        [
            command.CorrelationId == Guid.Empty ? "CorrelationId is required." : null,
            FieldRules.Required(nameof(command.EndUserEmail), command.EndUserEmail, 254)
                ?? (EmailShape().IsMatch(command.EndUserEmail!) ? null : "EndUserEmail is not a valid email address."),
            FieldRules.Required(nameof(command.EndUserOrganizationName), command.EndUserOrganizationName, 256),
            FieldRules.Optional(nameof(command.EndUserOriginId), command.EndUserOriginId, 256),
            FieldRules.Optional(nameof(command.RemoteEnvironment), command.RemoteEnvironment, 128),
            command.RemoteEnvironment is not null && command.IntegrationTool is null
                ? "RemoteEnvironment can only be used together with IntegrationTool."
                : null,
            FieldRules.OneOf(nameof(command.IntegrationCategory), command.IntegrationCategory, Categories),
            command.IntegrationTool is null || ToolShape().IsMatch(command.IntegrationTool)
                ? null
                : "IntegrationTool must be a Kombo tool key: 1 to 64 lower-case letters and digits.",
            FieldRules.OneOf(nameof(command.Language), command.Language, Languages),
            FieldRules.Optional(nameof(command.ScopeConfigId), command.ScopeConfigId, 128),
            FieldRules.OneOf(nameof(command.LinkType), command.LinkType, LinkTypes),
        ];
        return problems.OfType<string>().ToList();
    }

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$", RegexOptions.CultureInvariant)]
    private static partial Regex EmailShape();

    [GeneratedRegex("^[a-z0-9]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex ToolShape();
}
