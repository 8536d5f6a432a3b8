using System.Security.Cryptography;

namespace Kombo.Emulator;

/// <summary>Opaque random strings in the shapes Kombo uses (ids like <c>CBNMt7dSNCzBdnRTx87dev4E</c>).</summary>
public static class RandomIds
{
    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private const string Hex = "0123456789abcdef";

    public static string Token() => RandomNumberGenerator.GetString(Alphanumeric, 40);

    public static string IntegrationId(string tool) => $"{tool}:{RandomNumberGenerator.GetString(Alphanumeric, 24)}";

    public static string WebhookId() => RandomNumberGenerator.GetString(Alphanumeric, 24);

    public static string LogId() => RandomNumberGenerator.GetString(Hex, 16);
}
