using Kombo.Contracts;

namespace Kombo.Worker.Connect;

/// <summary>Checks a <see cref="CreateReconnectionLink"/> against what Kombo's relink accepts, before any call is made.</summary>
internal static class CreateReconnectionLinkValidator
{
    /// <returns>The problems found, empty when the command is valid.</returns>
    public static IReadOnlyList<string> Validate(CreateReconnectionLink command)
    {
        string?[] problems =
        [
            command.CorrelationId == Guid.Empty ? "CorrelationId is required." : null,
            FieldRules.Required(nameof(command.IntegrationId), command.IntegrationId, 256)
                ?? (command.IntegrationId!.Any(char.IsWhiteSpace) ? "IntegrationId must not contain white space." : null)
                ?? (command.IntegrationId is "." or ".." ? "IntegrationId must not be '.' or '..'." : null),
            FieldRules.OneOf(nameof(command.Language), command.Language, CreateConnectLinkValidator.Languages),
            FieldRules.Optional(nameof(command.ScopeConfigId), command.ScopeConfigId, 128),
            FieldRules.OneOf(nameof(command.LinkType), command.LinkType, CreateConnectLinkValidator.LinkTypes),
        ];
        return problems.OfType<string>().ToList();
    }
}
