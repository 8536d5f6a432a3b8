using Kombo.Worker.Operations;
using Kombo.Worker.Storage;
using Kombo.Worker.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Kombo.Worker.Tests.Operations;

public sealed class TelemetryRegistrationTests
{
    [Fact]
    public void Without_an_otlp_endpoint_there_are_metrics_for_prometheus_and_no_tracing()
    {
        using var provider = Provider(new() { ["OpenTelemetry:OtlpEndpoint"] = "" });

        Assert.NotNull(provider.GetRequiredService<MeterProvider>());
        Assert.Null(provider.GetService<TracerProvider>());
    }

    [Theory]
    [InlineData("OpenTelemetry:OtlpEndpoint", "http://otel-collector:4317")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318")]
    public void With_an_otlp_endpoint_traces_are_recorded_too(string key, string endpoint)
    {
        using var provider = Provider(new() { [key] = endpoint });

        Assert.NotNull(provider.GetRequiredService<MeterProvider>());
        Assert.NotNull(provider.GetRequiredService<TracerProvider>());
    }

    [Theory]
    [InlineData(null, "kombo-worker")]
    [InlineData("kombo-worker-eu", "kombo-worker-eu")]
    public void Service_name_is_OTEL_SERVICE_NAME_when_set(string? variable, string expected)
    {
        using var provider = Provider(new() { ["OTEL_SERVICE_NAME"] = variable });

        var resource = provider.GetRequiredService<MeterProvider>().GetResource();
        Assert.Equal(expected, resource.Attributes.Single(a => a.Key == "service.name").Value);
    }

    [Theory]
    [InlineData("OpenTelemetry:OtlpEndpoint", "otel-collector:4317", "OpenTelemetry:OtlpEndpoint must be an absolute http or https URL")]
    [InlineData("OpenTelemetry:OtlpProtocol", "udp", "OpenTelemetry:OtlpProtocol must be grpc or http/protobuf")]
    public void Wrong_settings_stop_the_start_with_the_key_named(string key, string value, string message)
    {
        using var provider = Provider(new() { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<OpenTelemetryOptions>>().Value);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection()
            .AddLogging()
            .AddSingleton<IHostEnvironment>(new TestHostEnvironment(Path.GetTempPath()))
            .AddTelemetry(configuration)
            .AddStorage(configuration)
            .BuildServiceProvider();
    }
}
