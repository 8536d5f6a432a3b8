using System.Data.Common;
using Dapper;
using Kombo.Emulator.EndUser;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Where an unanswered redemption stands in the store: its inbox outcome, its token's attempts, and whether the
/// token's integration was received (from <c>integration-created</c>) and claimed. One line per command, for the
/// report of a failed run.
/// </summary>
public static class RedemptionDiagnosis
{
    public static IReadOnlyList<string> Of(
        DbConnection connection, ChaosWorkload workload, IEnumerable<ChaosCommand> unanswered,
        IReadOnlyDictionary<string, IssueTokensEndpoint.IssuedTokenView> tokens)
    {
        var copies = workload.Commands.GroupBy(c => c.TokenHash ?? "").ToDictionary(g => g.Key, g => g.Count());
        return [.. unanswered.Where(c => c.TokenHash is not null).Select(command =>
        {
            var token = tokens[command.TokenHash!];
            var inbox = connection.Query<string>("SELECT outcome FROM inbox WHERE correlation_id = @Id", new { Id = command.CorrelationId.ToString() });
            var attempts = connection.Query<(string CorrelationId, string? ClosedAs, bool Pending, string? SettledAs)>("""
                SELECT correlation_id, closed_as, pending_since IS NOT NULL, settled_as
                FROM token_redemption_attempts WHERE token_hash = @Hash ORDER BY started_at
                """, new { Hash = command.TokenHash });
            var received = connection.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM integrations WHERE integration_id = @Id", new { Id = token.IntegrationId }) > 0;
            var claimed = connection.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM token_redemptions WHERE integration_id = @Id", new { Id = token.IntegrationId }) > 0;
            return $"{command.CorrelationId} (token sent {copies[command.TokenHash!]}x): inbox [{string.Join(", ", inbox)}]; attempts " +
                   string.Join(", ", attempts.Select(a => $"[{(a.CorrelationId == command.CorrelationId.ToString() ? "this" : "other")}: " +
                                                          $"closed {a.ClosedAs ?? "-"}, pending {a.Pending}, settled {a.SettledAs ?? "-"}]")) +
                   $"; integration {token.IntegrationId} {(received ? "received" : "not received")}, {(claimed ? "claimed" : "unclaimed")}";
        })];
    }
}
