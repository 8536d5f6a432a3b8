using Kombo.Contracts;
using Kombo.Emulator.EndUser;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// What the ledger says of redemptions of tokens whose integrations Kombo made: each integration announced with one
/// <c>IntegrationConnected</c> (one message id, however many commands redeemed its token), to its own end user, and
/// no command told that the connection failed.
/// </summary>
public sealed record RedemptionAnswerCheck
{
    /// <summary>Commands whose first answer was <c>ConnectTokenRedemptionFailed</c>, by reason.</summary>
    public required IReadOnlyDictionary<string, int> FailedByReason { get; init; }

    public int ReportedFailed => FailedByReason.Values.Sum();

    /// <summary>Of those, the commands whose token was also sent in a second command at the same time.</summary>
    public required int FailedOnTokensSentTwice { get; init; }

    /// <summary>Integrations of issued tokens that no <c>IntegrationConnected</c> announced.</summary>
    public required IReadOnlyList<string> NotAnnounced { get; init; }

    /// <summary>Integrations announced under more than one message id: a subscriber would connect them twice.</summary>
    public required IReadOnlyList<string> AnnouncedTwice { get; init; }

    /// <summary>Answers naming another integration or end user than the command's token.</summary>
    public required IReadOnlyList<string> WrongIntegration { get; init; }

    public static RedemptionAnswerCheck Of(
        ChaosWorkload workload, IReadOnlyDictionary<string, IssueTokensEndpoint.IssuedTokenView> tokens, EventLedger ledger)
    {
        var tokenOf = workload.Commands.Where(c => c.TokenHash is not null).ToDictionary(c => c.CorrelationId, c => tokens[c.TokenHash!]);
        var firstAnswers = ledger.Entries.Where(e => tokenOf.ContainsKey(e.CorrelationId)).GroupBy(e => e.CorrelationId).Select(g => g.First()).ToList();
        var connected = ledger.Of(nameof(IntegrationConnected)).Where(e => tokenOf.ContainsKey(e.CorrelationId)).ToList();
        var announced = connected.GroupBy(e => e.Message.GetProperty("integrationId").GetString() ?? "").ToList();
        var sentTwice = workload.Commands.GroupBy(c => c.TokenHash).Where(g => g.Count() > 1).SelectMany(g => g).Select(c => c.CorrelationId).ToHashSet();
        var failed = firstAnswers.Where(e => e.Type == nameof(ConnectTokenRedemptionFailed)).ToList();
        return new RedemptionAnswerCheck
        {
            FailedByReason = failed.GroupBy(e => e.Reason ?? "?").ToDictionary(g => g.Key, g => g.Count()),
            FailedOnTokensSentTwice = failed.Count(e => sentTwice.Contains(e.CorrelationId)),
            NotAnnounced = [.. tokens.Values.Select(t => t.IntegrationId).Except(announced.Select(g => g.Key))],
            AnnouncedTwice = [.. announced.Where(g => g.Select(e => e.MessageId).Distinct().Count() > 1)
                .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.MessageId).Distinct())}")],
            WrongIntegration = [.. connected.Where(e =>
                    e.Message.GetProperty("integrationId").GetString() != tokenOf[e.CorrelationId].IntegrationId
                    || e.Message.GetProperty("endUserOriginId").GetString() != tokenOf[e.CorrelationId].EndUserOriginId)
                .Select(e => $"{e.CorrelationId}: {e.Message.GetProperty("integrationId").GetString()} for {e.Message.GetProperty("endUserOriginId").GetString()}")],
        };
    }

    public override string ToString() =>
        $"{ReportedFailed} reported failed ({(FailedByReason.Count == 0 ? "none" : string.Join(", ", FailedByReason.Select(f => $"{f.Value} {f.Key}")))}; " +
        $"{FailedOnTokensSentTwice} of them on a token sent twice), " +
        $"{NotAnnounced.Count} integrations never announced, {AnnouncedTwice.Count} announced under two ids, {WrongIntegration.Count} answers naming another integration or end user";
}
