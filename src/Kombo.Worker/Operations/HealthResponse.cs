using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kombo.Worker.Operations;

/// <summary>
/// The JSON body of the health endpoints: the overall status and, per check, its status and duration, and with
/// <see cref="HealthOptions.Details"/> its description and data. Exceptions stay in the logs: their messages are not for
/// whoever can reach the port.
/// </summary>
internal static class HealthResponse
{
    public static async Task WriteAsync(HttpContext context, HealthReport report, bool details)
    {
        // Written to memory first: Kestrel refuses the synchronous writes a Utf8JsonWriter on the body would make.
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            Write(json, report, details);
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void Write(Utf8JsonWriter json, HealthReport report, bool details)
    {
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("totalDurationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (details && entry.Description is not null)
            {
                json.WriteString("description", entry.Description);
            }

            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            if (details && entry.Data.Count > 0)
            {
                json.WriteStartObject("data");
                foreach (var (key, value) in entry.Data)
                {
                    json.WritePropertyName(key);
                    ToElement(value).WriteTo(json);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    // A check's data is whatever its library put there (MassTransit: its endpoints); what does not serialize is shown as text.
    private static JsonElement ToElement(object? value)
    {
        try
        {
            return JsonSerializer.SerializeToElement(value);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException)
        {
            return JsonSerializer.SerializeToElement(value?.ToString());
        }
    }
}
