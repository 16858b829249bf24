using System.CommandLine;
using Telemetry.Benchmarks;
using Telemetry.Contracts.Configuration;
using Telemetry.Host.Hosting;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry bench api</c>: <c>GET /api/bins</c> latency in an open loop, against <c>--url</c> or an api process it starts (CONTRACT §5).</summary>
internal static class BenchApiCommand
{
    public static Command Create()
    {
        var rps = PositiveInt("--rps", "Requests per second, sent on schedule whatever the answers do (open loop).", 1000);
        var seconds = PositiveInt("--seconds", "Measured seconds.", 30);
        var warmup = new Option<int>("--warmup")
        {
            Description = "Seconds at the same rate before the measured ones, not counted (connections, JIT, caches).",
            DefaultValueFactory = _ => 3,
            Validators = { r => { if (r.GetValueOrDefault<int>() < 0) { r.AddError("--warmup must not be negative."); } } },
        };
        var clients = PositiveInt("--clients", "SSE clients on /api/alerts/stream, each told of the tilt alerts the benchmark raises (publish → receipt latency).", 1000);
        var rounds = PositiveInt("--sse-rounds", "Tilt alerts raised (and cleared) for the SSE clients, one bin each.", 5);
        var connections = PositiveInt("--connections", "At most this many HTTP/1.1 keep-alive connections to the host.", 64);
        var timeout = PositiveInt("--timeout-ms", "A request not answered this long after it was sent is an error.", 2000);
        var url = new Option<string?>("--url") { Description = "Measure the api at this address (e.g. http://127.0.0.1:8080) instead of starting one; needs --key." };
        var key = new Option<string?>("--key") { Description = "The API key to send to --url (any role reads /api/bins)." };
        var command = new Command("api", "Benchmark GET /api/bins: latency at --rps requests per second in an open loop, errors, the api process's peak memory; then the delay from a tilt status published over MQTT to its alert on each of --clients SSE clients; last line JSON. Without --url it starts `run --roles ingestion,scheduler,api` (embedded broker on a free port) on the configured store (Storage:*) with the registry's bins.")
        {
            rps, seconds, warmup, clients, connections, timeout, url, key, rounds,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var config = CommandLineConfiguration.Build(parse.UnmatchedTokens, parse.CommandResult.Command.Options.Select(o => o.Name));
            var rate = parse.GetValue(rps);
            var measured = parse.GetValue(seconds);
            var warm = parse.GetValue(warmup);
            if ((long)rate * (measured + warm) > 20_000_000)
            {
                throw new ConfigurationException("--rps", "--rps × (--seconds + --warmup) must be at most 20,000,000 requests");
            }
            Uri? target = null;
            if (parse.GetValue(url) is { } text && (!Uri.TryCreate(text, UriKind.Absolute, out target) || (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps)))
            {
                throw new ConfigurationException("--url", $"'{text}' is not an http:// or https:// address");
            }
            var options = new ApiBenchOptions(rate, measured, warm, parse.GetValue(clients), parse.GetValue(connections),
                TimeSpan.FromMilliseconds(parse.GetValue(timeout)), target, parse.GetValue(key), parse.GetValue(rounds));
            return await new ApiBenchmark(config, parse.UnmatchedTokens, options).RunAsync(ct);
        });
        return command;
    }

    private static Option<int> PositiveInt(string name, string description, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        Validators = { r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError($"{name} must be at least 1."); } } },
    };
}
