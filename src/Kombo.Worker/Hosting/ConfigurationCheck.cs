using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Kombo.Worker.Hosting;

/// <summary>
/// Validates every option the worker registered before anything starts, so that an operator who mistyped a setting
/// reads what is wrong, one problem per line, instead of a host start-up failure with its stack trace.
/// </summary>
internal static partial class ConfigurationCheck
{
    /// <returns>The problems found; empty when the configuration is usable.</returns>
    public static IReadOnlyList<string> Problems(IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            return [];
        }
        catch (Exception ex) when (Collect(ex) is { Count: > 0 } problems)
        {
            return problems;
        }
    }

    private static List<string> Collect(Exception exception) => exception switch
    {
        OptionsValidationException validation => validation.Failures.Select(Plain).ToList(),
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Collect).ToList(),
        // The binder's own complaint, e.g. "Failed to convert configuration value 'abc' at 'RabbitMq:Port' to type 'System.Int32'."
        InvalidOperationException { InnerException: not null } conversion when conversion.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)
            => [conversion.Message],
        _ => [],
    };

    // "DataAnnotation validation failed for 'X' members: 'Y' with the error: 'the message'." says the message twice over.
    private static string Plain(string failure) =>
        DataAnnotationFailure().Match(failure) is { Success: true } match ? $"{match.Groups["type"].Value}.{match.Groups["member"].Value}: {match.Groups["error"].Value}" : failure;

    [GeneratedRegex("^DataAnnotation validation failed for '(?<type>[^']+)' members: '(?<member>[^']*)' with the error: '(?<error>.*)'\\.$", RegexOptions.CultureInvariant)]
    private static partial Regex DataAnnotationFailure();
}
