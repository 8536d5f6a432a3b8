namespace Kombo.Worker.Storage;

/// <summary>The database writer's loop died; nothing can be committed until the worker restarts.</summary>
internal sealed class DatabaseWriterStoppedException(Exception cause)
    : IOException("The database writer has stopped unexpectedly; the worker must restart.", cause);
