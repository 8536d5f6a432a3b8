namespace Kombo.Worker.Outbox;

/// <summary>Not attempted because the end user's earlier row in flight failed; costs no attempt.</summary>
internal sealed class HeldBackException(Exception cause) : Exception("An earlier message of the same end user failed.", cause);

/// <summary>Not attempted because the row's partition is no longer this instance's: its new owner publishes it.</summary>
internal sealed class PartitionNotOwnedException() : Exception("The row's outbox partition has another owner now.");

/// <summary>A stored row that can never be published as it is (unknown type, corrupt body).</summary>
internal sealed class UnpublishableMessageException(string message) : Exception(message);
