using Kombo.Contracts;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Redemption;

namespace Kombo.Worker.Tests.Connect;

public sealed class ValidatorTests
{
    private static readonly CreateConnectLink Valid = new()
    {
        CorrelationId = Guid.NewGuid(),
        EndUserEmail = "admin@acme.test",
        EndUserOrganizationName = "Acme, Inc.",
    };

    [Fact]
    public void Minimal_command_is_valid() => Assert.Empty(CreateConnectLinkValidator.Validate(Valid));

    [Theory]
    [InlineData("EndUserEmail", null)]
    [InlineData("EndUserEmail", "no-at-sign")]
    [InlineData("EndUserOrganizationName", "")]
    [InlineData("EndUserOrganizationName", "Acme\u0000Inc")]
    [InlineData("EndUserOriginId", "")]
    [InlineData("IntegrationCategory", "CRM")]
    [InlineData("IntegrationTool", "Personio!")]
    [InlineData("Language", "pt")]
    [InlineData("LinkType", "EMAIL")]
    public void Bad_field_is_named_in_the_problems(string field, string? value)
    {
        var command = field switch
        {
            "EndUserEmail" => Valid with { EndUserEmail = value },
            "EndUserOrganizationName" => Valid with { EndUserOrganizationName = value },
            "EndUserOriginId" => Valid with { EndUserOriginId = value },
            "IntegrationCategory" => Valid with { IntegrationCategory = value },
            "IntegrationTool" => Valid with { IntegrationTool = value },
            "Language" => Valid with { Language = value },
            _ => Valid with { LinkType = value },
        };

        Assert.Contains(CreateConnectLinkValidator.Validate(command), problem => problem.StartsWith(field, StringComparison.Ordinal));
    }

    [Fact]
    public void Oversized_organisation_name_is_refused() =>
        Assert.NotEmpty(CreateConnectLinkValidator.Validate(Valid with { EndUserOrganizationName = new string('a', 257) }));

    [Fact]
    public void Missing_correlation_id_is_refused() =>
        Assert.Contains("CorrelationId is required.", CreateConnectLinkValidator.Validate(Valid with { CorrelationId = Guid.Empty }));

    [Fact]
    public void Remote_environment_needs_a_tool() =>
        Assert.NotEmpty(CreateConnectLinkValidator.Validate(Valid with { RemoteEnvironment = "sandbox" }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData(".")]
    [InlineData("..")]
    public void Bad_token_is_refused(string? token) =>
        Assert.NotEmpty(RedeemConnectTokenValidator.Validate(
            new RedeemConnectToken { CorrelationId = Guid.NewGuid(), Token = token, ExpectedEndUserOriginId = "customer-1" }));

    [Fact]
    public void Redemption_needs_an_expected_origin_or_an_explicit_skip()
    {
        var command = new RedeemConnectToken { CorrelationId = Guid.NewGuid(), Token = "token-1" };

        Assert.NotEmpty(RedeemConnectTokenValidator.Validate(command));
        Assert.Empty(RedeemConnectTokenValidator.Validate(command with { SkipOriginCheck = true }));
        Assert.Empty(RedeemConnectTokenValidator.Validate(command with { ExpectedEndUserOriginId = "customer-1" }));
    }
}
