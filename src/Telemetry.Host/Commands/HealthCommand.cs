using System.CommandLine;
using System.Net.Http;

namespace Telemetry.Host.Commands;

/// <summary>
/// <c>telemetry health --url http://127.0.0.1:8081</c>: asks a running process's <c>/readyz</c> (or
/// <c>/healthz</c> with <c>--live</c>) and exits 0 when it answers 200, 1 otherwise; for container
/// health checks in images without curl.
/// </summary>
internal static class HealthCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The process's Health:Url (or the api's Urls).", DefaultValueFactory = _ => "http://127.0.0.1:8081" };
        var live = new Option<bool>("--live") { Description = "Ask /healthz (the process answers) instead of /readyz (ready to work)." };
        var command = new Command("health", "Check a running telemetry process: exit 0 when it is ready (/readyz answers 200), 1 otherwise.") { url, live };
        command.SetAction(async (parse, ct) =>
        {
            var given = parse.GetValue(url) ?? "";
            var local = System.Text.RegularExpressions.Regex.Replace(given, @"://(0\.0\.0\.0|\*|\+|\[::\])(?=:|/|$)", "://127.0.0.1");
            if (!Uri.TryCreate(local.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            {
                Console.Error.WriteLine($"--url: '{given}' is not an http URL such as http://127.0.0.1:8081");
                return 1;
            }
            var target = new Uri(baseUri, parse.GetValue(live) ? "healthz" : "readyz");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                using var response = await http.GetAsync(target, ct);
                var body = await response.Content.ReadAsStringAsync(ct);
                Console.WriteLine($"{(int)response.StatusCode} {target}: {body}");
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Console.Error.WriteLine($"{target}: no answer ({ex.Message})");
                return 1;
            }
        });
        return command;
    }
}
