namespace Kombo.Worker.Storage;

/// <summary>SQLite's primary result codes the worker acts on (https://www.sqlite.org/rescode.html), named once.</summary>
internal static class SqliteErrorCodes
{
    public const int Busy = 5;
    public const int Locked = 6;
    public const int NoMemory = 7;
    public const int ReadOnly = 8;
    public const int IoError = 10;
    public const int Corrupt = 11;
    public const int Full = 13;
    public const int CannotOpen = 14;
    public const int Protocol = 15;
    public const int NotADatabase = 26;
}
