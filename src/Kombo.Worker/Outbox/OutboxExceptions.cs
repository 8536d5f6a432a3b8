namespace Kombo.Worker.Outbox;

/// <summary>Not attempted this round because an earlier row in its lane failed; costs no attempt.</summary>
internal sealed class HeldBackException(Exception cause) : Exception("An earlier message of the same end user failed.", cause);

/// <summary>A stored row that can never be published as it is (unknown type, corrupt body).</summary>
internal sealed class UnpublishableMessageException(string message) : Exception(message);
