using Kombo.Worker.Connect.Webhooks;
using Kombo.Worker.Hosting;
using Microsoft.Extensions.Configuration;

namespace Kombo.Worker.Tests.Hosting;

public sealed class ConfigurationCheckTests
{
    private static IReadOnlyList<string> ProblemsWith(params string[] settings)
    {
        using var directory = new Support.TempDirectory();
        string[] args = [$"--Storage:DatabasePath={directory.File("worker.db")}", .. settings];
        var app = WorkerHost.CreateBuilder(args).Build();
        return ConfigurationCheck.Problems(app.Services);
    }

    [Fact]
    public void Usable_configuration_has_no_problems()
    {
        Assert.Empty(ProblemsWith("--Kombo:ApiKey=test-key"));
    }

    [Fact]
    public void Every_problem_is_one_plain_line_naming_its_setting()
    {
        var problems = ProblemsWith(
            "--Kombo:ApiKey=",
            "--RabbitMq:Uri=http://broker.example",
            "--Kombo:WebhookSecret=s",
            "--Urls=http://127.0.0.1:8081",
            "--Webhooks:Urls=http://127.0.0.1:8081");

        Assert.Contains(problems, p => p.StartsWith("Kombo:ApiKey is missing", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("RabbitMqOptions.Uri: RabbitMq:Uri must look like", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("port 8081 is the health and metrics listener's", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Kombo:WebhookSecret must be at least 16 characters", StringComparison.Ordinal));
        Assert.All(problems, p => Assert.DoesNotContain('\n', p));
    }

    [Theory]
    [InlineData("short-secret")]
    [InlineData("                    ")]
    [InlineData("sixteen chars ok?")]
    public void Webhook_secret_must_be_sixteen_characters_without_white_space(string secret)
    {
        var problem = Assert.Single(ProblemsWith("--Kombo:ApiKey=test-key", $"--Kombo:WebhookSecret={secret}"));

        Assert.StartsWith("Kombo:WebhookSecret must be", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MaxConnections", "0")]
    [InlineData("RequestHeadersTimeout", "00:00:00")]
    [InlineData("MinRequestBodyBytesPerSecond", "10")]
    [InlineData("RefusalLogInterval", "00:00:00")]
    [InlineData("MaxBodyBytes", "100")]
    public void Webhook_limit_out_of_range_is_named(string setting, string value)
    {
        var problem = Assert.Single(ProblemsWith("--Kombo:ApiKey=test-key", $"--Webhooks:{setting}={value}"));

        Assert.StartsWith($"WebhookOptions.{setting}:", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void White_space_secret_does_not_turn_the_listener_on()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Kombo:WebhookSecret"] = "   " })
            .Build();

        Assert.False(WebhookServiceCollectionExtensions.WebhooksEnabled(configuration));
    }

    [Fact]
    public void Value_of_the_wrong_type_is_named_with_its_key()
    {
        var problem = Assert.Single(ProblemsWith("--Kombo:ApiKey=test-key", "--RabbitMq:Port=abc"));

        Assert.Contains("'RabbitMq:Port'", problem, StringComparison.Ordinal);
    }
}
