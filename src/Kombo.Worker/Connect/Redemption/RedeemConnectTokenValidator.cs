using Kombo.Contracts;

namespace Kombo.Worker.Connect.Redemption;

internal static class RedeemConnectTokenValidator
{
    /// <returns>The problems found, empty when the command is valid.</returns>
    public static IReadOnlyList<string> Validate(RedeemConnectToken command)
    {
        string?[] problems =
        [
            command.CorrelationId == Guid.Empty ? "CorrelationId is required." : null,
            FieldRules.Required(nameof(command.Token), command.Token, 4096)
                ?? (command.Token!.Any(char.IsWhiteSpace) ? "Token must not contain white space." : null)
                ?? (command.Token is "." or ".." ? "Token must not be '.' or '..'." : null),
            FieldRules.Optional(nameof(command.ExpectedEndUserOriginId), command.ExpectedEndUserOriginId, 256)
                ?? (command.ExpectedEndUserOriginId is null && !command.SkipOriginCheck
                    ? "ExpectedEndUserOriginId is required (the origin check), unless SkipOriginCheck is true."
                    : null),
        ];
        return problems.OfType<string>().ToList();
    }
}
