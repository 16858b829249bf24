using System.Net;
using Microsoft.Extensions.Time.Testing;
using Telemetry.Api;
using Telemetry.Api.Access;

namespace Telemetry.UnitTests.Api;

public class AccessTests
{
    [Fact]
    public void A_key_is_found_by_its_hash_and_a_wrong_one_is_not()
    {
        var analyst = ApiKeys.NewKey();
        var admin = ApiKeys.NewKey();
        var keys = new ApiKeys([("ana", "analyst", ApiKeys.Hash(analyst)), ("root", "admin", ApiKeys.Hash(admin))]);
        Assert.Equal(new ApiKeyOwner("ana", "analyst"), keys.Find(analyst));
        Assert.Equal(new ApiKeyOwner("root", "admin"), keys.Find(admin));
        Assert.Null(keys.Find(analyst + "x"));
        Assert.Null(keys.Find(ApiKeys.Hash(analyst)));
        Assert.Null(keys.Find(""));
        Assert.Null(keys.Find(new string('a', ApiKeys.MaxKeyLength + 1)));
    }

    [Fact]
    public void New_keys_are_long_random_and_url_safe()
    {
        var a = ApiKeys.NewKey();
        Assert.NotEqual(a, ApiKeys.NewKey());
        Assert.StartsWith("tlm_", a, StringComparison.Ordinal);
        Assert.True(a.Length >= 40);
        Assert.Matches("^[A-Za-z0-9_-]+$", a);
        Assert.Matches("^[0-9a-f]{64}$", ApiKeys.Hash(a));
    }

    [Fact]
    public void Ten_failures_in_a_minute_block_the_address_for_a_minute()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
        var failures = new FailedAuthentications(time);
        var attacker = IPAddress.Parse("203.0.113.7");
        var other = IPAddress.Parse("203.0.113.8");
        for (var i = 0; i < FailedAuthentications.Limit - 1; i++)
        {
            failures.RecordFailure(attacker);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Null(failures.BlockedUntil(attacker));
        failures.RecordFailure(attacker);
        Assert.NotNull(failures.BlockedUntil(attacker));
        Assert.Null(failures.BlockedUntil(other));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.NotNull(failures.BlockedUntil(attacker));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(failures.BlockedUntil(attacker));
    }

    [Fact]
    public void Failures_spread_over_more_than_a_minute_do_not_block()
    {
        var time = new FakeTimeProvider();
        var failures = new FailedAuthentications(time);
        var address = IPAddress.Loopback;
        for (var i = 0; i < 30; i++)
        {
            failures.RecordFailure(address);
            time.Advance(TimeSpan.FromSeconds(7));
        }
        Assert.Null(failures.BlockedUntil(address));
    }

    [Fact]
    public void An_ipv4_mapped_address_counts_as_its_ipv4_address()
    {
        var failures = new FailedAuthentications(new FakeTimeProvider());
        for (var i = 0; i < FailedAuthentications.Limit; i++)
        {
            failures.RecordFailure(IPAddress.Parse("::ffff:198.51.100.1"));
        }
        Assert.NotNull(failures.BlockedUntil(IPAddress.Parse("198.51.100.1")));
    }

    [Theory]
    [InlineData("Role", "boss", "Api:Keys:ana:Role")]
    [InlineData("Role", null, "Api:Keys:ana:Role")]
    [InlineData("Sha256", "ABCDEF", "Api:Keys:ana:Sha256")]
    [InlineData("Sha256", null, "Api:Keys:ana:Sha256")]
    public void A_wrong_key_setting_names_the_key(string field, string? value, string expected)
    {
        var key = new ApiKeyOptions { Role = "analyst", Sha256 = ApiKeys.Hash("k") };
        if (field == "Role")
        {
            key.Role = value;
        }
        else
        {
            key.Sha256 = value;
        }
        var result = new ApiOptionsValidator().Validate(null, new ApiOptions { Keys = { ["ana"] = key } });
        Assert.True(result.Failed);
        Assert.StartsWith(expected + ":", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void No_keys_and_shared_keys_are_refused()
    {
        Assert.StartsWith("Api:Keys:", new ApiOptionsValidator().Validate(null, new ApiOptions()).FailureMessage, StringComparison.Ordinal);
        var hash = ApiKeys.Hash("same");
        var shared = new ApiOptions
        {
            Keys = { ["a"] = new ApiKeyOptions { Role = "analyst", Sha256 = hash }, ["b"] = new ApiKeyOptions { Role = "admin", Sha256 = hash } },
        };
        Assert.Contains("the same key", new ApiOptionsValidator().Validate(null, shared).FailureMessage, StringComparison.Ordinal);
        var good = new ApiOptions { Keys = { ["a"] = new ApiKeyOptions { Role = "dispatcher", Sha256 = hash } } };
        Assert.True(new ApiOptionsValidator().Validate(null, good).Succeeded);
    }
}
