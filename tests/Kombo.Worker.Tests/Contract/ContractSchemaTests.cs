using Kombo.Worker.Outbox;

namespace Kombo.Worker.Tests.Contract;

/// <summary>
/// The schemas under docs/contract/schemas are generated from the contracts and the validators; this test fails when
/// they drift. Regenerate with <c>KOMBO_UPDATE_CONTRACT=1 dotnet test tests/Kombo.Worker.Tests --filter ContractSchema</c>.
/// </summary>
public sealed class ContractSchemaTests
{
    private static readonly string Directory = Path.Combine(Support.RepositoryRoot.Path, "docs", "contract", "schemas");

    public static TheoryData<string> Contracts => [.. ContractSchemas.All.Select(type => type.Name)];

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Committed_schema_matches_the_contract_and_its_validator(string name)
    {
        var type = ContractSchemas.All.Single(t => t.Name == name);
        var path = Path.Combine(Directory, ContractSchemas.FileName(type));
        var generated = ContractSchemas.Generate(type);
        if (Environment.GetEnvironmentVariable("KOMBO_UPDATE_CONTRACT") == "1")
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(path, generated);
        }

        Assert.True(File.Exists(path), $"{path} is missing; regenerate the schemas (see this test's summary).");
        Assert.Equal(generated, File.ReadAllText(path));
    }

    [Fact]
    public void Every_contract_and_nothing_else_has_a_schema()
    {
        var expected = ContractSchemas.All.Select(ContractSchemas.FileName).Order(StringComparer.Ordinal);
        var committed = System.IO.Directory.EnumerateFiles(Directory, "*.schema.json").Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(expected, committed);
    }

    [Fact]
    public void Every_event_the_outbox_carries_is_in_the_contract()
    {
        Assert.All(OutboxMessageTypes.All, type => Assert.Contains(type, ContractSchemas.All));
    }

    [Fact]
    public void Command_limits_are_read_off_the_validators()
    {
        var schema = System.Text.Json.Nodes.JsonNode.Parse(ContractSchemas.Generate(typeof(Kombo.Contracts.CreateConnectLink)))!;

        Assert.Equal(254, schema["properties"]!["endUserEmail"]!["maxLength"]!.GetValue<int>());
        Assert.Equal(64, schema["properties"]!["integrationTool"]!["maxLength"]!.GetValue<int>());
        Assert.Contains("MAGIC_LINK", schema["properties"]!["linkType"]!["enum"]!.AsArray().Select(v => v?.GetValue<string>()));
        Assert.Equal(["correlationId", "endUserEmail", "endUserOrganizationName"], schema["required"]!.AsArray().Select(v => v!.GetValue<string>()));
    }
}

public sealed class AsyncApiDocumentTests
{
    private static readonly string Document = File.ReadAllText(Path.Combine(Support.RepositoryRoot.Path, "docs", "contract", "asyncapi.yaml"));

    public static TheoryData<string> Contracts => [.. ContractSchemas.All.Select(type => type.Name)];

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Every_contract_has_its_message_and_schema_in_the_asyncapi_document(string name)
    {
        Assert.Contains($"    {name}:\n      name: {name}\n", Document, StringComparison.Ordinal);
        Assert.Contains($"$ref: './schemas/{name}.schema.json'", Document, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("create-connect-link")]
    [InlineData("redeem-connect-token")]
    [InlineData("create-reconnection-link")]
    public void Every_command_queue_is_a_channel(string queue)
    {
        Assert.Contains($"    address: {queue}\n", Document, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_event_exchange_is_a_fanout_channel()
    {
        Assert.All(OutboxMessageTypes.All, type =>
            Assert.Contains($"          name: 'Kombo.Contracts:{type.Name}'\n          type: fanout\n", Document, StringComparison.Ordinal));
    }
}
