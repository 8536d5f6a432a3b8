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
}
