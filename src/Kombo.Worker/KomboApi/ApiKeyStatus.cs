namespace Kombo.Worker.KomboApi;

/// <summary>What the last check of the API key found; <c>/health/ready</c> reports it.</summary>
internal sealed class ApiKeyStatus
{
    private volatile Verdict? _last;

    public Verdict? Last => _last;

    public void Accepted(DateTimeOffset at) => _last = new Verdict(true, null, null, at);

    public void Rejected(KomboError error, DateTimeOffset at) => _last = new Verdict(false, error.HttpStatus, error.Code, at);

    /// <summary>A check's outcome: Kombo's status and error code when it refused the key.</summary>
    public sealed record Verdict(bool IsAccepted, int? HttpStatus, string? Code, DateTimeOffset CheckedAt);
}
