using Kombo.Worker.KomboApi;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Tests.KomboApi;

public sealed class KomboOptionsTests
{
    [Fact]
    public void Start_up_validation_refuses_a_missing_api_key_and_says_how_to_fix_it()
    {
        using var provider = Provider(new() { ["Kombo:ApiKey"] = "" });

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(
            "Kombo:ApiKey is missing: set the Kombo__ApiKey environment variable (or point Kombo__BaseUrl at the emulator with its key)",
            failure.Message);
    }

    [Fact]
    public void Only_the_api_key_is_needed_the_rest_has_defaults()
    {
        using var provider = Provider(new() { ["Kombo:ApiKey"] = "k" });

        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<KomboOptions>>().Value;

        Assert.Equal(new KomboOptions { ApiKey = "k" }, options);
        Assert.Equal("https://api.kombo.dev/v1/", options.BaseUrl);
        Assert.Equal(TimeSpan.FromSeconds(10), options.AttemptTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.TotalTimeout);
        Assert.Equal(4, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.RetryBaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(10), options.RetryMaxDelay);
        Assert.Equal(0.5, options.CircuitBreakerFailureRatio);
        Assert.Equal(20, options.CircuitBreakerMinimumThroughput);
        Assert.Equal(TimeSpan.FromSeconds(30), options.CircuitBreakerSamplingDuration);
        Assert.Equal(TimeSpan.FromSeconds(15), options.CircuitBreakerBreakDuration);
        Assert.Equal(64, options.MaxConnectionsPerServer);
        Assert.False(options.UseActivateIntegration);
    }

    [Theory]
    [InlineData("BaseUrl", "api.kombo.dev/v1", "Kombo:BaseUrl must be an absolute http(s) URL")]
    [InlineData("BaseUrl", "ftp://api.kombo.dev/v1/", "Kombo:BaseUrl must be an absolute http(s) URL")]
    [InlineData("ApiKey", "key with space", "Kombo:ApiKey must not contain white space")]
    [InlineData("AttemptTimeout", "00:00:00", "Kombo:AttemptTimeout must be between")]
    [InlineData("TotalTimeout", "-00:00:01", "Kombo:TotalTimeout must be between")]
    [InlineData("AttemptTimeout", "00:01:00", "Kombo:AttemptTimeout must not be longer than Kombo:TotalTimeout")]
    [InlineData("MaxRetryAttempts", "-1", "Kombo:MaxRetryAttempts must be between 0 and 100")]
    [InlineData("RetryMaxDelay", "00:00:00.100", "Kombo:RetryMaxDelay must not be shorter than Kombo:RetryBaseDelay")]
    [InlineData("CircuitBreakerFailureRatio", "0", "Kombo:CircuitBreakerFailureRatio must be greater than 0")]
    [InlineData("CircuitBreakerMinimumThroughput", "1", "Kombo:CircuitBreakerMinimumThroughput must be at least 2")]
    [InlineData("CircuitBreakerBreakDuration", "00:00:00.100", "Kombo:CircuitBreakerBreakDuration must be between")]
    [InlineData("MaxConnectionsPerServer", "0", "Kombo:MaxConnectionsPerServer must be at least 1")]
    public void Out_of_range_settings_are_refused_at_start_up(string key, string value, string expected)
    {
        using var provider = Provider(new() { ["Kombo:ApiKey"] = "k", [$"Kombo:{key}"] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(expected, failure.Message);
    }

    [Theory]
    [InlineData("http://localhost:5080/v1")]
    [InlineData("http://localhost:5080/v1/")]
    public void A_base_url_with_or_without_trailing_slash_keeps_its_path(string baseUrl) =>
        Assert.Equal("http://localhost:5080/v1/", new KomboOptions { BaseUrl = baseUrl }.GetBaseAddress().AbsoluteUri);

    [Fact]
    public void Printing_the_options_never_shows_the_api_key()
    {
        var printed = new KomboOptions { ApiKey = "sk_live_secret" }.ToString();

        Assert.DoesNotContain("sk_live_secret", printed, StringComparison.Ordinal);
        Assert.Contains("ApiKey = ***", printed, StringComparison.Ordinal);
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddLogging()
            .AddKomboApi(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
}
