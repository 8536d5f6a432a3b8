using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace Kombo.Worker.Tests.Support;

public sealed class TestHostEnvironment(string root) : IHostEnvironment
{
    public string EnvironmentName { get; set; } = "Test";

    public string ApplicationName { get; set; } = "Kombo.Worker.Tests";

    public string ContentRootPath { get; set; } = root;

    public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
}
