using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Telemetry.Api.Access;

namespace Telemetry.IntegrationTests.Api;

/// <summary>The keys of one api process: one per role, made for this run only.</summary>
internal sealed record ApiTestKeys(string Analyst, string Dispatcher, string Admin)
{
    public static ApiTestKeys New() => new(ApiKeys.NewKey(), ApiKeys.NewKey(), ApiKeys.NewKey());

    public string For(string role) => role switch
    {
        "analyst" => Analyst,
        "dispatcher" => Dispatcher,
        "admin" => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a role"),
    };
}

/// <summary>
/// <c>telemetry run --roles api</c> as a real child process on a free loopback port, with a key for each role.
/// Its output is kept for failure messages; disposing kills it.
/// </summary>
internal sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private ApiProcess(Process process, Uri baseAddress, ApiTestKeys? keys)
    {
        _process = process;
        BaseAddress = baseAddress;
        Keys = keys;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _errors.Enqueue(e.Data);
                _output.Enqueue("ERR " + e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    /// <summary>The configured keys; null when the process was started without any.</summary>
    public ApiTestKeys? Keys { get; }

    /// <summary>Everything it printed, stderr lines marked <c>ERR</c>.</summary>
    public string Output => string.Join('\n', _output);

    public IReadOnlyList<string> ErrorLines => [.. _errors];

    public string OutputTail(int lines) => string.Join('\n', _output.TakeLast(lines));

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the api with <paramref name="settings"/> (as <c>--Key=value</c>) and, unless <paramref name="withKeys"/>
    /// is false, a fresh key per role; with <paramref name="waitReady"/>, returns once <c>/readyz</c> answers 200.
    /// </summary>
    public static async Task<ApiProcess> StartAsync(IReadOnlyDictionary<string, string> settings, bool withKeys = true, bool waitReady = true, string host = "127.0.0.1")
    {
        var port = TestServices.FreePort();
        var baseAddress = new Uri($"http://{host}:{port}");
        var keys = withKeys ? ApiTestKeys.New() : null;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "telemetry.dll"));
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("--roles");
        info.ArgumentList.Add("api");
        info.ArgumentList.Add($"--Urls={baseAddress.GetLeftPart(UriPartial.Authority)}");
        if (keys is not null)
        {
            foreach (var role in new[] { "analyst", "dispatcher", "admin" })
            {
                info.ArgumentList.Add($"--Api:Keys:test-{role}:Role={role}");
                info.ArgumentList.Add($"--Api:Keys:test-{role}:Sha256={ApiKeys.Hash(keys.For(role))}");
            }
        }
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }
        // Only what this test configures: no keys or urls from the environment the tests run in.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("Api__", StringComparison.OrdinalIgnoreCase) || k.Equals("ASPNETCORE_URLS", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }
        info.Environment["Logging__LogLevel__Default"] = "Information";
        var process = new ApiProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start telemetry"), baseAddress, keys);
        if (waitReady)
        {
            try
            {
                await process.WaitReadyAsync(TimeSpan.FromSeconds(90));
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }
        return process;
    }

    private Task WaitReadyAsync(TimeSpan timeout) => WaitReadyAsync(BaseAddress, _process, "the api", () => Output, () => null, timeout);

    /// <summary>
    /// Polls <c>/readyz</c> of <paramref name="baseAddress"/> until it answers 200 and <paramref name="notYet"/> gives no
    /// reason to wait (null); fails at once if <paramref name="process"/> exits, and after <paramref name="timeout"/>.
    /// </summary>
    internal static async Task WaitReadyAsync(Uri baseAddress, Process process, string what, Func<string> output, Func<string?> notYet, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (true)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new InvalidOperationException($"{what} exited with {process.ExitCode} before it was ready:\n{output()}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK && notYet() is not { } reason)
                {
                    return;
                }
                last = response.StatusCode == HttpStatusCode.OK ? notYet() ?? "ready" : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{what} was not ready within {timeout} (last /readyz: {last}):\n{output()}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A client of this api: with <paramref name="key"/> as its bearer token when given, and connecting from
    /// <paramref name="from"/> (another loopback address, so failed authentications are counted apart) when given.
    /// Cookies are not kept: a test sends them itself.
    /// </summary>
    public HttpClient Client(string? key = null, IPAddress? from = null)
    {
        var handler = new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false };
        if (from is not null)
        {
            handler.ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        var client = new HttpClient(handler, disposeHandler: true) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>Waits for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the api did not exit within {timeout}:\n{Output}");
        }
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
