using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.RegularExpressions;
using Kombo.Contracts;
using Kombo.Worker.Connect;
using Kombo.Worker.Connect.Redemption;

namespace Kombo.Worker.Tests.Contract;

/// <summary>
/// JSON Schemas of every contract, as the messages travel (camelCase, MassTransit's serializer settings), with the
/// limits the worker enforces on commands read off its own validators: each string property is probed for the
/// longest value accepted, each for whether it may be left out, and each enumerated one for the values named in its
/// refusal. So the schemas cannot promise what the worker would refuse.
/// </summary>
internal static partial class ContractSchemas
{
    public static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web) { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };

    private static readonly Dictionary<Type, (object Valid, Func<object, IReadOnlyList<string>> Validate)> Commands = new()
    {
        [typeof(CreateConnectLink)] = (new CreateConnectLink
        {
            CorrelationId = Guid.NewGuid(),
            EndUserEmail = "admin@acme.test",
            EndUserOrganizationName = "Acme, Inc.",
            IntegrationTool = "personio",
        }, command => CreateConnectLinkValidator.Validate((CreateConnectLink)command)),
        [typeof(RedeemConnectToken)] = (new RedeemConnectToken
        {
            CorrelationId = Guid.NewGuid(),
            Token = "token",
            ExpectedEndUserOriginId = "customer-1",
        }, command => RedeemConnectTokenValidator.Validate((RedeemConnectToken)command)),
        [typeof(CreateReconnectionLink)] = (new CreateReconnectionLink
        {
            CorrelationId = Guid.NewGuid(),
            IntegrationId = "personio:1",
        }, command => CreateReconnectionLinkValidator.Validate((CreateReconnectionLink)command)),
    };

    public static IEnumerable<Type> All => typeof(LinkCreated).Assembly.GetExportedTypes()
        .Where(type => type is { IsClass: true, IsAbstract: false } && type.GetProperties().Length > 0)
        .OrderBy(type => type.Name, StringComparer.Ordinal);

    public static bool IsCommand(Type type) => Commands.ContainsKey(type);

    public static string FileName(Type type) => $"{type.Name}.schema.json";

    public static string Generate(Type type)
    {
        var schema = Wire.GetJsonSchemaAsNode(type, new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true }).AsObject();
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = $"https://kombo-worker.invalid/contract/{FileName(type)}",
            ["title"] = type.Name,
            ["description"] = IsCommand(type)
                ? $"The {type.Name} command, sent as plain JSON or inside MassTransit's envelope (under \"message\")."
                : $"The {type.Name} event, published to the exchange Kombo.Contracts:{type.Name} inside MassTransit's envelope (under \"message\").",
        };
        foreach (var (key, value) in schema.ToList())
        {
            schema.Remove(key);
            root[key] = value;
        }

        if (Commands.TryGetValue(type, out var command))
        {
            ApplyValidatorLimits(type, root, command.Valid, command.Validate);
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static void ApplyValidatorLimits(Type type, JsonObject schema, object valid, Func<object, IReadOnlyList<string>> validate)
    {
        if (validate(valid).Count > 0)
        {
            throw new InvalidOperationException($"The sample {type.Name} is not valid: {string.Join(" ", validate(valid))}");
        }

        var properties = schema["properties"]!.AsObject();
        var required = new JsonArray();
        var anyOf = new List<JsonArray>();
        foreach (var property in type.GetProperties())
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            var node = properties[name]!.AsObject();
            if (Refuses(validate, With(valid, property, Empty(property.PropertyType)), property.Name, "is required"))
            {
                // Required unless a flag says otherwise (RedeemConnectToken's SkipOriginCheck): then "either it, or the flag".
                var waiver = type.GetProperties().FirstOrDefault(flag => flag.PropertyType == typeof(bool)
                    && !Refuses(validate, With(With(valid, property, Empty(property.PropertyType)), flag, true), property.Name, "is required"));
                if (waiver is not null)
                {
                    var flagName = JsonNamingPolicy.CamelCase.ConvertName(waiver.Name);
                    anyOf.Add(new JsonArray(
                        new JsonObject { ["required"] = new JsonArray(name) },
                        new JsonObject { ["properties"] = new JsonObject { [flagName] = new JsonObject { ["const"] = true } }, ["required"] = new JsonArray(flagName) }));
                }
                else
                {
                    required.Add(name);
                    if (node["type"] is JsonArray types)
                    {
                        node["type"] = types.Select(t => t!.GetValue<string>()).Single(t => t != "null");
                    }
                }
            }

            if (property.PropertyType != typeof(string))
            {
                continue;
            }

            if (validate(With(valid, property, "not-one-of-them")).FirstOrDefault(p => p.StartsWith(property.Name + " must be one of", StringComparison.Ordinal)) is { } oneOf)
            {
                var values = OneOfValues().Match(oneOf).Groups["values"].Value.Split(", ");
                node["enum"] = new JsonArray([.. values.Select(v => (JsonNode)v), .. IsNullable(node) ? new JsonNode?[] { null } : []]);
                continue;
            }

            if (LongestAccepted(valid, property, validate) is { } maxLength)
            {
                node["minLength"] = 1;
                node["maxLength"] = maxLength;
            }
        }

        if (required.Count > 0)
        {
            schema["required"] = required;
        }

        if (anyOf.Count == 1)
        {
            schema["anyOf"] = anyOf[0];
        }
        else if (anyOf.Count > 1)
        {
            schema["allOf"] = new JsonArray([.. anyOf.Select(choice => (JsonNode)new JsonObject { ["anyOf"] = choice })]);
        }
    }

    private static int? LongestAccepted(object valid, PropertyInfo property, Func<object, IReadOnlyList<string>> validate)
    {
        bool Accepts(int length) => !Refuses(validate, With(valid, property, Filler(property, length)), property.Name, null);
        if (!Accepts(16) || Accepts(100_000))
        {
            return null;
        }

        int low = 16, high = 100_000;
        while (high - low > 1)
        {
            var middle = (low + high) / 2;
            (low, high) = Accepts(middle) ? (middle, high) : (low, middle);
        }

        return low;
    }

    // A value of that length the property's other rules accept: an email keeps its shape.
    private static string Filler(PropertyInfo property, int length) =>
        property.Name.Contains("Email", StringComparison.Ordinal) ? new string('a', length - 7) + "@x.test" : new string('a', length);

    private static bool Refuses(Func<object, IReadOnlyList<string>> validate, object command, string property, string? saying) =>
        validate(command).Any(p => p.StartsWith(property + " ", StringComparison.Ordinal) && (saying is null || p.Contains(saying, StringComparison.Ordinal)));

    private static object? Empty(Type type) => type == typeof(Guid) ? Guid.Empty : type.IsValueType ? Activator.CreateInstance(type) : null;

    private static object With(object valid, PropertyInfo property, object? value)
    {
        var copy = valid.GetType().GetMethod("<Clone>$")!.Invoke(valid, null)!;
        property.SetValue(copy, value);
        return copy;
    }

    private static bool IsNullable(JsonObject node) =>
        node["type"] is JsonArray types && types.Any(t => t?.GetValue<string>() == "null");

    [GeneratedRegex("must be one of (?<values>.+)\\.$")]
    private static partial Regex OneOfValues();
}
