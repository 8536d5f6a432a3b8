using Kombo.Worker.Hosting;

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
        Assert.All(problems, p => Assert.DoesNotContain('\n', p));
    }

    [Fact]
    public void Value_of_the_wrong_type_is_named_with_its_key()
    {
        var problem = Assert.Single(ProblemsWith("--Kombo:ApiKey=test-key", "--RabbitMq:Port=abc"));

        Assert.Contains("'RabbitMq:Port'", problem, StringComparison.Ordinal);
    }
}
