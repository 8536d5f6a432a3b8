using System.Text.Json;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

internal static class KomboErrorAssertions
{
    /// <summary>Asserts Kombo's error envelope and returns its <c>error</c> object.</summary>
    public static async Task<JsonElement> KomboErrorAsync(this HttpResponseMessage response, string code)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.JsonAsync();
        Assert.Equal("error", body.GetProperty("status").GetString());
        var error = body.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.True(Uri.IsWellFormedUriString(error.GetProperty("log_url").GetString(), UriKind.Absolute));
        return error;
    }
}
