namespace Kombo.Emulator.Faults;

public enum FaultKind
{
    Delayed,
    ServerError,
    PlainText503,
    RateLimited,
    Hang,
}
