using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kombo.Worker.Hosting;
using Kombo.Worker.Messaging;
using RabbitMQ.Client.Exceptions;

namespace Kombo.Worker.ErrorQueues;

/// <summary>
/// <c>Kombo.Worker errors list|show|replay|purge</c>: the command messages the worker could not handle, in the
/// <c>*_error</c> queues, for an operator to read (redacted), send back once the cause is fixed, or delete.
/// </summary>
internal static class ErrorQueueTool
{
    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error, SettingsFile.LocateDirectory);

    internal static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, Func<string> locateSettings)
    {
        try
        {
            var arguments = ErrorQueueArguments.Parse(args);
            if (arguments.IsHelp)
            {
                output.WriteLine(ErrorQueueArguments.Usage);
                return 0;
            }

            var endpoint = Broker(arguments.Uri, locateSettings);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await using var broker = await ConnectAsync(endpoint, timeout.Token);
            var result = await ExecuteAsync(arguments, broker, timeout.Token);
            Write(output, arguments, result);
            return arguments.MessageId is not null && result.Count == 0
                ? throw new ErrorQueueToolException($"no message {arguments.MessageId} in {string.Join(", ", arguments.Queues.Select(ErrorQueueBroker.ErrorQueueOf))}")
                : 0;
        }
        catch (ErrorQueueToolException ex)
        {
            error.WriteLine($"errors: {ex.Message}");
            return ex.ExitCode;
        }
    }

    private static async Task<ErrorQueueBroker> ConnectAsync(RabbitMqEndpoint endpoint, CancellationToken cancellationToken)
    {
        // The client would only say that the certificate was rejected; the check says why.
        if (endpoint.UseTls && await BrokerTlsCheck.ProblemAsync(endpoint, new BrokerCertificateValidation(endpoint), cancellationToken) is { } problem)
        {
            throw new ErrorQueueToolException(problem);
        }

        try
        {
            return await ErrorQueueBroker.ConnectAsync(endpoint, cancellationToken);
        }
        catch (BrokerUnreachableException ex)
        {
            throw new ErrorQueueToolException($"cannot reach the broker at {endpoint}: {ex.InnerException?.Message ?? ex.Message}");
        }
    }

    private static async Task<IReadOnlyList<ErrorMessage>> ExecuteAsync(ErrorQueueArguments arguments, ErrorQueueBroker broker, CancellationToken cancellationToken)
    {
        bool Selected(ErrorMessage message) =>
            (arguments.MessageId is null || message.MessageId == arguments.MessageId)
            && (arguments.Reason is null || message.Reason.Contains(arguments.Reason, StringComparison.OrdinalIgnoreCase));

        var found = new List<ErrorMessage>();
        foreach (var queue in arguments.Queues)
        {
            found.AddRange(arguments.Verb switch
            {
                "list" => (await broker.ListAsync(queue, arguments.Limit, cancellationToken)).Where(Selected),
                "show" => (await broker.ListAsync(queue, int.MaxValue, cancellationToken)).Where(Selected).Take(1),
                "replay" => await broker.MoveAsync(queue, Selected, replay: true, cancellationToken),
                _ => await broker.MoveAsync(queue, Selected, replay: false, cancellationToken),
            });
        }

        return found;
    }

    private static RabbitMqEndpoint Broker(string? uri, Func<string> locateSettings)
    {
        var options = uri is not null
            ? new RabbitMqOptions { Uri = uri }
            : SettingsFile.Read(locateSettings()).GetSection(RabbitMqOptions.SectionName).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        RabbitMqEndpoint endpoint;
        try
        {
            endpoint = options.Endpoint();
        }
        catch (UriFormatException)
        {
            throw new ErrorQueueToolException("the broker URI is not an amqp:// or amqps:// address", ErrorQueueToolException.UsageExitCode);
        }

        // The CA is read before connecting: a missing file is the operator's to fix, not a connection failure.
        return options.Validate(new ValidationContext(options)).FirstOrDefault(p => p.MemberNames.Contains(nameof(RabbitMqOptions.CaCertificatePath))) is { } problem
            ? throw new ErrorQueueToolException(problem.ErrorMessage ?? "RabbitMq:CaCertificatePath is not usable")
            : endpoint;
    }

    private static void Write(TextWriter output, ErrorQueueArguments arguments, IReadOnlyList<ErrorMessage> messages)
    {
        if (arguments.Json)
        {
            var document = new JsonObject
            {
                ["command"] = arguments.Verb,
                ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject
                {
                    ["queue"] = ErrorQueueBroker.ErrorQueueOf(m.Queue),
                    ["messageId"] = m.MessageId,
                    ["reason"] = m.Reason,
                    ["exceptionType"] = m.ExceptionType,
                    ["faultedAt"] = m.FaultedAt,
                    ["faultHeaders"] = arguments.Verb == "show" ? JsonSerializer.SerializeToNode(m.FaultHeaders) : null,
                    ["body"] = m.Body?.DeepClone(),
                    ["bodyBytes"] = m.BodyBytes,
                    ["bodyProblem"] = m.BodyProblem,
                })]),
            };
            output.WriteLine(document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return;
        }

        var verb = arguments.Verb switch { "replay" => "replayed", "purge" => "purged", _ => null };
        foreach (var message in messages)
        {
            var unreadable = message.BodyProblem is null ? "" : $"  [body not shown: {message.BodyProblem}]";
            output.WriteLine($"{ErrorQueueBroker.ErrorQueueOf(message.Queue)}  {message.MessageId}  {message.FaultedAt ?? "-"}  {message.Reason}{unreadable}");
            if (arguments.Verb == "show")
            {
                foreach (var (name, value) in message.FaultHeaders.OrderBy(h => h.Key, StringComparer.Ordinal))
                {
                    output.WriteLine($"  {name}: {value}");
                }

                output.WriteLine(message.Body is null
                    ? $"  body: {message.BodyBytes} bytes, not shown: {message.BodyProblem}"
                    : $"  body: {message.Body.ToJsonString()}");
            }
        }

        output.WriteLine(verb is null
            ? $"{messages.Count} message(s)"
            : $"{verb} {messages.Count} message(s){(verb == "replayed" ? " to their command queues" : "")}");
    }
}
