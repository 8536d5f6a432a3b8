using System.Text.Json.Serialization;

namespace Kombo.Emulator;

/// <summary>Kombo's success envelope: <c>{"status":"success","data":...}</c>.</summary>
public sealed record SuccessResponse<T>(T Data)
{
    [JsonPropertyOrder(-1)]
    public string Status => "success";
}

/// <summary>Kombo's error envelope; every key of <see cref="ErrorDetails"/> is written, nulls included.</summary>
public sealed record ErrorResponse(ErrorDetails Error)
{
    [JsonPropertyOrder(-1)]
    public string Status => "error";
}

public sealed record ErrorDetails(string? Code, string? Title, string Message, string? LogUrl);
