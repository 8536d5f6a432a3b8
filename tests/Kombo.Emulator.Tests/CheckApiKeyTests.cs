using System.Net;
using Kombo.Testing;

namespace Kombo.Emulator.Tests;

public sealed class CheckApiKeyTests(KomboEmulatorFixture emulator) : IClassFixture<KomboEmulatorFixture>
{
    [Fact]
    public async Task Check_api_key_with_the_key_answers_200_with_the_environment_id()
    {
        using var kombo = emulator.CreateKomboClient();

        using var response = await kombo.GetAsync("check-api-key");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.Equal(["environment_id"], body.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("data").GetProperty("environment_id").GetString()));
    }

    [Fact]
    public async Task Check_api_key_with_a_wrong_or_missing_key_answers_401_authentication_invalid()
    {
        using var wrong = emulator.CreateKomboClient(apiKey: "not-the-key");
        using var anonymous = new HttpClient { BaseAddress = emulator.BaseAddress };

        using var rejected = await wrong.GetAsync("check-api-key");
        using var missing = await anonymous.GetAsync("check-api-key");

        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        await rejected.KomboErrorAsync("PLATFORM.AUTHENTICATION_INVALID");
        await missing.KomboErrorAsync("PLATFORM.AUTHENTICATION_INVALID");
    }
}
