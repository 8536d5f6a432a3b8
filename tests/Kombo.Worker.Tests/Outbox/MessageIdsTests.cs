using Kombo.Worker.Outbox;

namespace Kombo.Worker.Tests.Outbox;

public sealed class MessageIdsTests
{
    [Fact]
    public void Same_command_and_purpose_always_give_the_same_id()
    {
        var command = Guid.NewGuid();

        Assert.Equal(MessageIds.Derive(command, "LinkCreated"), MessageIds.Derive(command, "LinkCreated"));
    }

    [Fact]
    public void Different_purposes_or_commands_give_different_ids()
    {
        var command = Guid.NewGuid();

        Assert.NotEqual(MessageIds.Derive(command, "LinkCreated"), MessageIds.Derive(command, "response:LinkCreated"));
        Assert.NotEqual(MessageIds.Derive(command, "LinkCreated"), MessageIds.Derive(Guid.NewGuid(), "LinkCreated"));
    }

    [Fact]
    public void Derived_ids_are_version_5_uuids()
    {
        var id = MessageIds.Derive(Guid.Parse("00000000-0000-0000-0000-000000000001"), "LinkCreated").ToString();

        Assert.Equal('5', id[14]);
        Assert.Contains(id[19], "89ab");
    }

    /// <summary>
    /// Pinned ids, computed independently (Python's hashlib over namespace, command id and purpose, RFC 9562 §5.5):
    /// a change to the namespace, the byte order or the purpose strings would change every event id across a rolling
    /// deploy, and subscribers would take the old and new copies of one event for two.
    /// </summary>
    [Theory]
    [InlineData("00000000-0000-0000-0000-000000000001", "LinkCreated", "24b3c429-fa1c-5878-90e9-f0a54e1de209")]
    [InlineData("0b9f3c2e-5d4a-4c1b-8e7f-112233445566", "response:ConnectTokenRedemptionFailed", "49ce5de2-022f-5ca4-8be8-01c350bfd367")]
    public void Derived_ids_match_their_pinned_values(string command, string purpose, string expected)
    {
        Assert.Equal(Guid.Parse(expected), MessageIds.Derive(Guid.Parse(command), purpose));
    }
}
