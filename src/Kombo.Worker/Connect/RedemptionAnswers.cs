using Kombo.Contracts;
using Kombo.Worker.Storage;

namespace Kombo.Worker.Connect;

internal static class RedemptionAnswers
{
    /// <summary>The answer for a recorded redemption: the same integration, whichever command asks.</summary>
    public static IntegrationConnected Connected(Redemption redemption, Guid correlationId, bool originVerified, IReadOnlyList<string> also) => new()
    {
        CorrelationId = correlationId,
        IntegrationId = redemption.IntegrationId,
        Tool = redemption.Tool,
        IntegrationCategory = redemption.Category,
        EndUserOriginId = redemption.EndUserOriginId,
        EndUserOrganizationName = redemption.EndUserOrganizationName,
        EndUserEmail = redemption.EndUserEmail,
        SetupStatus = redemption.SetupStatus,
        OriginVerified = originVerified,
        AlsoConnectedIntegrationIds = also,
        ConnectedAt = UnixTime.FromMs(redemption.ConnectedAt),
    };

    /// <summary>One customer must not attach another customer's integration by replaying its token.</summary>
    public static bool OriginMatches(RedeemConnectToken command, string? actualOriginId) =>
        command.SkipOriginCheck || string.Equals(command.ExpectedEndUserOriginId, actualOriginId, StringComparison.Ordinal);
}
