using Kombo.Worker.Storage;

namespace Kombo.Worker.Tests.Storage;

public sealed class MigrationScriptsTests
{
    [Fact]
    public void Scripts_are_ordered_by_version_and_only_those_under_the_prefix_count()
    {
        var scripts = MigrationScripts.Order(
            ["X/002_b.sql", "X/001_a.sql", "Y/003_c.sql", "X/readme.txt"], "X/");

        Assert.Equal([(1, "X/001_a.sql"), (2, "X/002_b.sql")], scripts);
    }

    [Fact]
    public void Two_scripts_of_one_version_are_refused()
    {
        var refused = Assert.Throws<InvalidOperationException>(() =>
            MigrationScripts.Order(["X/001_a.sql", "X/002_b.sql", "X/002_c.sql"], "X/"));

        Assert.Contains("share version 2", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_version_is_refused()
    {
        var refused = Assert.Throws<InvalidOperationException>(() =>
            MigrationScripts.Order(["X/001_a.sql", "X/003_c.sql"], "X/"));

        Assert.Contains("skip version 2", refused.Message, StringComparison.Ordinal);
    }
}
