using System.Globalization;
using System.Text;

namespace Kombo.Worker.Storage;

/// <summary>
/// A list of numbers written into the SQL text, <c>(1,2,3)</c>. Dapper expands <c>IN @list</c> on SQLite but hands
/// Npgsql an array, which <c>IN</c> does not take; numbers the worker read itself are safe to write inline on both.
/// </summary>
internal static class SqlList
{
    public static string Of<T>(IEnumerable<T> values)
        where T : IFormattable
    {
        var text = new StringBuilder("(");
        foreach (var value in values)
        {
            text.Append(text.Length > 1 ? "," : "").Append(value.ToString(null, CultureInfo.InvariantCulture));
        }

        // An empty IN () is an error on both; no row has a negative sequence or partition.
        return text.Append(text.Length > 1 ? ")" : "-1)").ToString();
    }
}
