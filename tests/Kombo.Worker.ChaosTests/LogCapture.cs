using System.Collections;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Kombo.Worker.ChaosTests;

/// <summary>
/// Keeps everything a host logs, as a reader of the logs would get it: the rendered message, every structured value,
/// every scope value and the whole exception (messages, inner exceptions, stack).
/// </summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLog> _logs = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<CapturedLog> Logs => _logs;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogCapture capture) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new StringBuilder();
            text.Append(formatter(state, exception));
            Append(text, state);
            capture._scopes.ForEachScope((scope, builder) => Append(builder, scope), text);
            if (exception is not null)
            {
                text.Append(" | ").Append(exception);
            }

            capture._logs.Enqueue(new CapturedLog(category, logLevel, text.ToString(), TimeProvider.System.GetUtcNow()));
        }

        private static void Append(StringBuilder text, object? value)
        {
            switch (value)
            {
                case null:
                    return;
                case string s:
                    text.Append(" | ").Append(s);
                    return;
                case IEnumerable<KeyValuePair<string, object?>> pairs:
                    foreach (var (key, item) in pairs)
                    {
                        text.Append(" | ").Append(key).Append('=').Append(Render(item));
                    }

                    return;
                default:
                    text.Append(" | ").Append(value);
                    return;
            }
        }

        private static string? Render(object? value) => value switch
        {
            null => null,
            string s => s,
            IEnumerable items => string.Join(",", items.Cast<object?>()),
            _ => value.ToString(),
        };
    }
}

public sealed record CapturedLog(string Category, LogLevel Level, string Text, DateTimeOffset At);
