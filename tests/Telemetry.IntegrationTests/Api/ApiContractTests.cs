using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Telemetry.IntegrationTests.Api;

/// <summary>
/// CONTRACT §6 against the real <c>telemetry run --roles api</c> process, over HTTP, on readings written straight
/// into the store; run once per storage backend (the subclasses). One api process per class.
/// </summary>
public abstract class ApiContractTests(ApiFixture fixture)
{
    private const string ProblemJson = "application/problem+json";
    private const string DiversionPeriod = "from=2026-10-10T00:00:00Z&to=2026-10-11T00:00:00Z";

    private ApiProcess Api => fixture.Api;

    private ApiTestKeys Keys => fixture.Keys;

    /// <summary>Every endpoint that needs a key, and the roles that may call it.</summary>
    public static TheoryData<string, string> ProtectedEndpoints => new()
    {
        { "GET", "/api/bins" },
        { "GET", "/api/bins/JY-001" },
        { "GET", "/api/bins/JY-001/history" },
        { "GET", "/api/bins/JY-001/events" },
        { "GET", "/api/bins/JY-001/forecast" },
        { "GET", "/api/bins/stream" },
        { "GET", $"/api/analytics/diversion?{DiversionPeriod}" },
        { "GET", "/api/session" },
        { "POST", "/api/session" },
        { "GET", "/api/deadletters" },
    };

    public static TheoryData<string, string, string> ReadEndpointsByRole
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var role in new[] { "analyst", "dispatcher", "admin" })
            {
                foreach (var (method, path) in ProtectedEndpoints.Select(row => ((string)row[0], (string)row[1])).Where(e => e.Item2 != "/api/deadletters"))
                {
                    data.Add(role, method, path);
                }
            }
            return data;
        }
    }

    // ---------------------------------------------------------------- access

    [Theory]
    [MemberData(nameof(ReadEndpointsByRole))]
    public async Task Every_role_may_read(string role, string method, string path)
    {
        using var client = Api.Client(Keys.For(role));
        using var response = await SendAsync(client, method, path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
    }

    [Theory]
    [InlineData("analyst")]
    [InlineData("dispatcher")]
    public async Task Only_admins_read_dead_letters(string role)
    {
        using var client = Api.Client(Keys.For(role));
        using var response = await client.GetAsync(Relative("/api/deadletters"));
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, await Describe(response));
        var problem = await ProblemAsync(response);
        Assert.Equal(403, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Admins_read_dead_letters_newest_first_with_counts_by_reason()
    {
        using var client = Api.Client(Keys.Admin);
        using var all = await JsonAsync(client, "/api/deadletters");
        var counts = all.RootElement.GetProperty("counts");
        Assert.Equal(2, counts.GetProperty("malformed-json").GetInt64());
        Assert.Equal(1, counts.GetProperty("unknown-bin").GetInt64());
        Assert.Equal(2, counts.EnumerateObject().Count());
        var items = all.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["JY-006", "unknown", "JY-005"], items.Select(i => i.GetProperty("bin").GetString()));
        var newest = items[0];
        Assert.Equal(["receivedAt", "reason", "bin", "topic", "payload", "error"], newest.EnumerateObject().Select(p => p.Name));
        Assert.Equal(fixture.DeadLettersAt, DateTimeOffset.Parse(newest.GetProperty("receivedAt").GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(("malformed-json", "bins/JY-006/weight", "[", "not JSON"),
            (newest.GetProperty("reason").GetString(), newest.GetProperty("topic").GetString(), newest.GetProperty("payload").GetString(), newest.GetProperty("error").GetString()));

        using var one = await JsonAsync(client, "/api/deadletters?limit=1&reason=malformed-json");
        Assert.Equal("JY-006", Assert.Single(one.RootElement.GetProperty("items").EnumerateArray()).GetProperty("bin").GetString());
        Assert.Equal(2, one.RootElement.GetProperty("counts").GetProperty("malformed-json").GetInt64());
    }

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task Without_a_key_the_answer_is_401_with_a_bearer_challenge(string method, string path)
    {
        using var client = Api.Client();
        using var response = await SendAsync(client, method, path);
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, await Describe(response));
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString());
        var problem = await ProblemAsync(response);
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
    }

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task A_wrong_key_or_cookie_gets_401_with_a_bearer_challenge(string method, string path)
    {
        var from = fixture.NextSourceAddress();
        using var client = Api.Client("tlm_not-a-configured-key", from);
        using (var response = await SendAsync(client, method, path))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, await Describe(response));
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
            Assert.Equal(401, (await ProblemAsync(response)).GetProperty("status").GetInt32());
        }
        using var cookieOnly = Api.Client(from: from);
        using (var response = await SendAsync(cookieOnly, method, path, cookie: "telemetry_key=tlm_not-a-configured-key"))
        {
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, await Describe(response));
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        }
    }

    [Fact]
    public async Task After_ten_failed_authentications_an_address_gets_429_but_a_valid_key_is_never_limited()
    {
        var from = fixture.NextSourceAddress();
        using var wrong = Api.Client("tlm_wrong-key", from);
        for (var i = 1; i <= 10; i++)
        {
            using var failed = await wrong.GetAsync(Relative("/api/bins"));
            Assert.True(failed.StatusCode == HttpStatusCode.Unauthorized, $"attempt {i}: {await Describe(failed)}");
        }
        using (var blocked = await wrong.GetAsync(Relative("/api/bins")))
        {
            Assert.True(blocked.StatusCode == HttpStatusCode.TooManyRequests, $"attempt 11: {await Describe(blocked)}");
            var retryAfter = blocked.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.Equal(429, (await ProblemAsync(blocked)).GetProperty("status").GetInt32());
        }
        using var valid = Api.Client(Keys.Analyst, from);
        using (var allowed = await valid.GetAsync(Relative("/api/bins")))
        {
            Assert.True(allowed.StatusCode == HttpStatusCode.OK, $"a valid key from the blocked address: {await Describe(allowed)}");
        }
        // The valid request did not lift the block for wrong keys.
        using var still = await wrong.GetAsync(Relative("/api/bins"));
        Assert.Equal(HttpStatusCode.TooManyRequests, still.StatusCode);
    }

    [Fact]
    public async Task A_stale_key_sent_to_open_paths_does_not_count_as_a_failed_authentication()
    {
        var from = fixture.NextSourceAddress();
        using var stale = Api.Client("tlm_stale-key", from);
        for (var i = 0; i < 12; i++)
        {
            using var open = await stale.GetAsync(Relative(i % 2 == 0 ? "/healthz" : "/openapi/v1.json"));
            Assert.True(open.StatusCode == HttpStatusCode.OK, await Describe(open));
        }
        using var attempt = await stale.GetAsync(Relative("/api/bins"));
        Assert.True(attempt.StatusCode == HttpStatusCode.Unauthorized, $"the first real attempt: {await Describe(attempt)}");
    }

    [Fact]
    public async Task Another_authorization_scheme_is_asked_for_a_bearer_key_and_does_not_count_as_a_failure()
    {
        var from = fixture.NextSourceAddress();
        using var client = Api.Client(null, from);
        for (var i = 0; i < 12; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Relative("/api/bins"));
            request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String("a:b"u8.ToArray()));
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"attempt {i + 1}: {await Describe(response)}");
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        }
    }

    // ---------------------------------------------------------------- session cookie

    [Fact]
    public async Task A_session_cookie_is_http_only_and_counts_as_its_key()
    {
        var cookie = await SessionCookieAsync(Keys.Dispatcher);
        using var client = Api.Client();
        using (var bins = await SendAsync(client, "GET", "/api/bins", cookie: cookie))
        {
            Assert.True(bins.StatusCode == HttpStatusCode.OK, await Describe(bins));
            Assert.Equal(55, JsonDocument.Parse(await bins.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
        }
        using (var who = await SendAsync(client, "GET", "/api/session", cookie: cookie))
        {
            var session = JsonDocument.Parse(await who.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(("test-dispatcher", "dispatcher"), (session.GetProperty("name").GetString(), session.GetProperty("role").GetString()));
        }
        // The cookie carries the key's role, no more.
        using var deadLetters = await SendAsync(client, "GET", "/api/deadletters", cookie: cookie);
        Assert.Equal(HttpStatusCode.Forbidden, deadLetters.StatusCode);
    }

    [Fact]
    public async Task Ending_the_session_expires_the_cookie()
    {
        using var client = Api.Client();
        using var response = await SendAsync(client, "DELETE", "/api/session", cookie: await SessionCookieAsync(Keys.Analyst));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("telemetry_key=;", setCookie, StringComparison.Ordinal);
        Assert.Contains("expires=Thu, 01 Jan 1970", setCookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_bin_stream_takes_the_session_cookie_and_starts_with_every_bin()
    {
        var cookie = await SessionCookieAsync(Keys.Analyst);
        using var client = Api.Client();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative("/api/bins/stream"));
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        using var reader = new StreamReader(body, Encoding.UTF8);
        var fields = new List<(string Name, string Value)>();
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (fields.Count > 0)
                {
                    break;
                }
                continue;
            }
            if (line.StartsWith(':'))
            {
                continue; // a comment (keep-alive)
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            fields.Add((line[..colon], line[(colon + 1)..].TrimStart(' ')));
        }
        Assert.Equal("bins", Assert.Single(fields, f => f.Name == "event").Value);
        Assert.True(long.TryParse(Assert.Single(fields, f => f.Name == "id").Value, CultureInfo.InvariantCulture, out _));
        var bins = JsonDocument.Parse(Assert.Single(fields, f => f.Name == "data").Value).RootElement;
        Assert.Equal(fixture.Registry.Bins.Select(b => b.Id), bins.EnumerateArray().Select(b => b.GetProperty("id").GetString()));
        Assert.Equal(55, bins.GetArrayLength());
        var paper = Compartment(bins.EnumerateArray().Single(b => b.GetProperty("id").GetString() == ApiSeed.StateBin), "paper");
        Assert.Equal(55.5, paper.GetProperty("fillPct").GetDouble());
    }

    // ---------------------------------------------------------------- bad parameters

    [Theory]
    [InlineData("/api/bins/JY-001/history?every=5x", "every")]
    [InlineData("/api/bins/JY-001/history?from=yesterday", "from")]
    [InlineData("/api/bins/JY-001/history?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to")]
    [InlineData("/api/analytics/diversion?to=2026-10-11T00:00:00Z", "from")]
    [InlineData("/api/analytics/diversion?from=2026-10-10T00:00:00Z", "to")]
    [InlineData($"/api/analytics/diversion?{DiversionPeriod}&groupBy=planet", "groupBy")]
    [InlineData($"/api/analytics/diversion?{DiversionPeriod}&community=c99", "community")]
    [InlineData($"/api/analytics/diversion?{DiversionPeriod}&bin=JY-999", "bin")]
    [InlineData("/api/analytics/diversion?from=2025-01-01T00:00:00Z&to=2026-10-11T00:00:00Z", "to")]
    [InlineData("/api/deadletters?limit=0", "limit")]
    [InlineData("/api/deadletters?limit=1001", "limit")]
    [InlineData("/api/bins/JY-001/history?to=0001-01-01T00:00:00Z", "to")]
    [InlineData("/api/deadletters?to=0001-01-01T00:00:05Z", "to")]
    public async Task A_bad_parameter_gets_400_problem_details_naming_it(string path, string parameter)
    {
        using var client = Api.Client(Keys.Admin);
        using var response = await client.GetAsync(Relative(path));
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, await Describe(response));
        var problem = await ProblemAsync(response);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal(parameter, problem.GetProperty("parameter").GetString());
    }

    [Theory]
    [InlineData("/api/bins/NOPE")]
    [InlineData("/api/bins/NOPE/history")]
    public async Task An_unknown_bin_is_404(string path)
    {
        using var client = Api.Client(Keys.Analyst);
        using var response = await client.GetAsync(Relative(path));
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, await Describe(response));
        Assert.Equal(404, (await ProblemAsync(response)).GetProperty("status").GetInt32());
    }

    // ---------------------------------------------------------------- bins

    [Fact]
    public async Task Bins_show_the_latest_stored_fill_of_each_compartment()
    {
        using var client = Api.Client(Keys.Analyst);
        using var all = await JsonAsync(client, "/api/bins");
        Assert.Equal(fixture.Registry.Bins.Select(b => b.Id), all.RootElement.EnumerateArray().Select(b => b.GetProperty("id").GetString()));
        var fromList = all.RootElement.EnumerateArray().Single(b => b.GetProperty("id").GetString() == ApiSeed.StateBin);
        using var one = await JsonAsync(client, $"/api/bins/{ApiSeed.StateBin}");
        Assert.Equal(fromList.GetRawText(), one.RootElement.GetRawText());

        var bin = one.RootElement;
        Assert.Equal("c04", bin.GetProperty("community").GetString());
        Assert.True(bin.GetProperty("online").GetBoolean());
        Assert.Equal(87.5, bin.GetProperty("battery").GetDouble());
        Assert.Equal("2026-11-01T01:00:00Z", bin.GetProperty("lastSeen").GetString());
        Assert.Equal(fixture.Registry.FindBin(ApiSeed.StateBin)!.Compartments.Select(c => c.Id),
            bin.GetProperty("compartments").EnumerateArray().Select(c => c.GetProperty("id").GetString()));

        var paper = Compartment(bin, "paper");
        Assert.Equal("recyclable", paper.GetProperty("stream").GetString());
        Assert.Equal(55.5, paper.GetProperty("fillPct").GetDouble()); // the latest by time, not the one written last (99)
        Assert.Equal(7.5, paper.GetProperty("netKg").GetDouble());
        Assert.Equal(JsonValueKind.Null, paper.GetProperty("predictedFullAt").ValueKind);
        Assert.Equal(12.25, Compartment(bin, "plastic").GetProperty("fillPct").GetDouble());
        var glass = Compartment(bin, "glass");
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (glass.GetProperty("fillPct").ValueKind, glass.GetProperty("netKg").ValueKind));

        var untouched = all.RootElement.EnumerateArray().Single(b => b.GetProperty("id").GetString() == "JY-055");
        Assert.Equal(JsonValueKind.Null, untouched.GetProperty("lastSeen").ValueKind);
        Assert.All(untouched.GetProperty("compartments").EnumerateArray(), c => Assert.Equal(JsonValueKind.Null, c.GetProperty("fillPct").ValueKind));
    }

    // ---------------------------------------------------------------- diversion

    [Fact]
    public async Task Diversion_by_community_is_the_contract_json()
    {
        using var client = Api.Client(Keys.Analyst);
        using var doc = await JsonAsync(client, $"/api/analytics/diversion?{DiversionPeriod}");
        var root = doc.RootElement;
        Assert.Equal(["from", "to", "groupBy", "timeZone", "total", "groups"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("2026-10-10T00:00:00Z", "2026-10-11T00:00:00Z", "community", "Asia/Shanghai"),
            (root.GetProperty("from").GetString(), root.GetProperty("to").GetString(), root.GetProperty("groupBy").GetString(), root.GetProperty("timeZone").GetString()));
        Assert.Equal(["depositedKg", "diversionRate"], root.GetProperty("total").EnumerateObject().Select(p => p.Name));
        AssertFigures(root.GetProperty("total"), 2.625, 2.75, 0.125, 4.625, 5.5 / 10.125);
        AssertGroups(root, ("c01", "Xinyuan Community", 1.75, 2.0, 0.125, 1.0, 3.875 / 4.875), ("c02", "Jibei Community", 0.875, 0.75, 0, 3.625, 1.625 / 5.25));
    }

    [Fact]
    public async Task Diversion_by_stream_and_by_material_has_a_group_per_key_in_key_order()
    {
        using var client = Api.Client(Keys.Dispatcher);
        using var streams = await JsonAsync(client, $"/api/analytics/diversion?{DiversionPeriod}&groupBy=stream");
        Assert.Equal("stream", streams.RootElement.GetProperty("groupBy").GetString());
        AssertFigures(streams.RootElement.GetProperty("total"), 2.625, 2.75, 0.125, 4.625, 5.5 / 10.125);
        AssertGroups(streams.RootElement,
            ("hazardous", "hazardous", 0, 0, 0.125, 0, 1.0),
            ("kitchen", "kitchen", 0, 2.75, 0, 0, 1.0),
            ("recyclable", "recyclable", 2.625, 0, 0, 0, 1.0),
            ("residual", "residual", 0, 0, 0, 4.625, 0.0));

        using var materials = await JsonAsync(client, $"/api/analytics/diversion?{DiversionPeriod}&groupBy=material");
        AssertGroups(materials.RootElement,
            ("glass", "glass", 0.5, 0, 0, 0, 1.0),
            ("hazardous", "hazardous", 0, 0, 0.125, 0, 1.0),
            ("kitchen", "kitchen", 0, 2.75, 0, 0, 1.0),
            ("metal", "metal", 0.375, 0, 0, 0, 1.0),
            ("paper", "paper", 1.5, 0, 0, 0, 1.0),
            ("plastic", "plastic", 0.25, 0, 0, 0, 1.0),
            ("residual", "residual", 0, 0, 0, 4.625, 0.0));
    }

    [Fact]
    public async Task Diversion_of_one_community_counts_only_its_bins()
    {
        using var client = Api.Client(Keys.Analyst);
        using var doc = await JsonAsync(client, $"/api/analytics/diversion?{DiversionPeriod}&community=c02");
        AssertFigures(doc.RootElement.GetProperty("total"), 0.875, 0.75, 0, 3.625, 1.625 / 5.25);
        AssertGroups(doc.RootElement, ("c02", "Jibei Community", 0.875, 0.75, 0, 3.625, 1.625 / 5.25));
    }

    [Fact]
    public async Task Diversion_of_one_bin_counts_only_its_deposits()
    {
        using var client = Api.Client(Keys.Analyst);
        // JY-002 and JY-003 are both in c02: only JY-002's deposits count.
        using var doc = await JsonAsync(client, $"/api/analytics/diversion?{DiversionPeriod}&bin=JY-002");
        AssertFigures(doc.RootElement.GetProperty("total"), 0.5, 0.75, 0, 3.0, 1.25 / 4.25);
        AssertGroups(doc.RootElement, ("c02", "Jibei Community", 0.5, 0.75, 0, 3.0, 1.25 / 4.25));
        using var materials = await JsonAsync(client, $"/api/analytics/diversion?{DiversionPeriod}&bin=JY-003&groupBy=material");
        AssertGroups(materials.RootElement, ("metal", "metal", 0.375, 0, 0, 0, 1.0), ("residual", "residual", 0, 0, 0, 0.625, 0.0));
    }

    [Fact]
    public async Task Diversion_of_a_period_without_deposits_has_four_zero_streams_and_a_null_rate()
    {
        using var client = Api.Client(Keys.Analyst);
        using var doc = await JsonAsync(client, "/api/analytics/diversion?from=2026-09-01T00:00:00Z&to=2026-09-02T00:00:00Z");
        AssertFigures(doc.RootElement.GetProperty("total"), 0, 0, 0, 0, null);
        Assert.Equal(0, doc.RootElement.GetProperty("groups").GetArrayLength());
    }

    [Fact]
    public async Task Diversion_csv_has_a_bom_crlf_the_contract_header_and_the_total_last()
    {
        var (contentType, lines) = await CsvAsync($"/api/analytics/diversion?{DiversionPeriod}");
        Assert.Equal("text/csv", contentType);
        Assert.Equal(
        [
            "key,name,recyclableKg,kitchenKg,hazardousKg,residualKg,diversionRate",
            Row("c01", "Xinyuan Community", 1.75, 2.0, 0.125, 1.0, 3.875 / 4.875),
            Row("c02", "Jibei Community", 0.875, 0.75, 0, 3.625, 1.625 / 5.25),
        ], lines[..^1]);
        AssertTotalRow(lines[^1], 2.625, 2.75, 0.125, 4.625, 5.5 / 10.125);

        var (_, days) = await CsvAsync($"/api/analytics/diversion?{DiversionPeriod}&groupBy=day");
        Assert.Equal(Row("2026-10-10", "2026-10-10", 2.625, 2.75, 0.125, 4.625, 5.5 / 10.125), Assert.Single(days[1..^1]));
    }

    [Fact]
    public async Task Diversion_csv_leaves_the_rate_cell_empty_when_nothing_was_deposited()
    {
        var (_, lines) = await CsvAsync("/api/analytics/diversion?from=2026-09-01T00:00:00Z&to=2026-09-02T00:00:00Z");
        Assert.Equal(2, lines.Length);
        Assert.Equal("key,name,recyclableKg,kitchenKg,hazardousKg,residualKg,diversionRate", lines[0]);
        AssertTotalRow(lines[1], 0, 0, 0, 0, null);
    }

    // ---------------------------------------------------------------- local days

    [Fact]
    public async Task Deposits_either_side_of_local_midnight_fall_on_their_own_local_days()
    {
        using var client = Api.Client(Keys.Analyst);
        // 2026-11-20T15:59:59.999Z is 23:59:59.999 on the 20th in Asia/Shanghai; 16:00:00.000Z is midnight of the 21st.
        using var doc = await JsonAsync(client, "/api/analytics/diversion?from=2026-11-20T00:00:00Z&to=2026-11-22T00:00:00Z&groupBy=day");
        AssertGroups(doc.RootElement, ("2026-11-20", "2026-11-20", 0, 1.0, 0, 0, 1.0), ("2026-11-21", "2026-11-21", 0, 2.0, 0, 2.0, 0.5));
        AssertFigures(doc.RootElement.GetProperty("total"), 0, 3.0, 0, 2.0, 0.6);
    }

    [Fact]
    public async Task History_day_buckets_start_at_local_midnight()
    {
        using var client = Api.Client(Keys.Analyst);
        using var doc = await JsonAsync(client, $"/api/bins/{ApiSeed.MidnightBin}/history?from=2026-11-19T16:00:00Z&to=2026-11-21T16:00:00Z&every=1d");
        var root = doc.RootElement;
        Assert.Equal((ApiSeed.MidnightBin, "2026-11-19T16:00:00Z", "2026-11-21T16:00:00Z", "1d", "Asia/Shanghai"),
            (root.GetProperty("bin").GetString(), root.GetProperty("from").GetString(), root.GetProperty("to").GetString(),
             root.GetProperty("every").GetString(), root.GetProperty("timeZone").GetString()));
        var compartments = root.GetProperty("compartments");
        Assert.Equal(fixture.Registry.FindBin(ApiSeed.MidnightBin)!.Compartments.Select(c => c.Id),
            compartments.EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.Equal([("2026-11-19T16:00:00Z", 30.0, null), ("2026-11-20T16:00:00Z", 70.0, null)], Buckets(compartments, "paper"));
        Assert.Equal([("2026-11-19T16:00:00Z", null, 1.0), ("2026-11-20T16:00:00Z", null, 3.0)], Buckets(compartments, "kitchen"));
        Assert.Equal([("2026-11-20T16:00:00Z", null, 2.0)], Buckets(compartments, "residual"));
        Assert.Empty(Buckets(compartments, "glass"));
        Assert.Equal("kitchen", compartments.EnumerateArray().Single(c => c.GetProperty("id").GetString() == "kitchen").GetProperty("stream").GetString());
    }

    // ---------------------------------------------------------------- open endpoints

    [Fact]
    public async Task Metrics_from_loopback_are_open_in_prometheus_text()
    {
        using var client = Api.Client();
        using (await client.GetAsync(Relative("/healthz")))
        {
            // A request the http metrics count, whatever ran before.
        }
        using var response = await client.GetAsync(Relative("/metrics"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^http_server_request_duration_seconds_count\{[^}]*http_route=""/healthz""[^}]*\} [1-9]", text);
    }

    [Theory]
    [InlineData("/healthz", "application/json")]
    [InlineData("/readyz", "application/json")]
    [InlineData("/openapi/v1.json", "application/json")]
    [InlineData("/docs/index.html", "text/html")]
    public async Task Health_and_the_api_docs_are_open_without_a_key(string path, string mediaType)
    {
        using var client = Api.Client();
        using var response = await client.GetAsync(Relative(path));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        if (path == "/openapi/v1.json")
        {
            var paths = JsonDocument.Parse(body).RootElement.GetProperty("paths");
            foreach (var p in new[] { "/api/bins", "/api/bins/{id}", "/api/bins/{id}/history", "/api/analytics/diversion", "/api/deadletters" })
            {
                Assert.True(paths.TryGetProperty(p, out _), $"the OpenAPI document has no {p}");
            }
        }
        if (path == "/docs/index.html")
        {
            Assert.Contains("swagger-ui", body, StringComparison.OrdinalIgnoreCase);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Uri Relative(string path) => new(path, UriKind.Relative);

    /// <summary>Sends a request; a streaming answer (SSE) is returned after its headers, its body left unread.</summary>
    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string path, string? cookie = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), Relative(path));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            await response.Content.LoadIntoBufferAsync();
        }
        return response;
    }

    /// <summary>The answer, and the api's last output lines, for a failure message.</summary>
    private async Task<string> Describe(HttpResponseMessage response)
    {
        var body = response.Content.Headers.ContentType?.MediaType == "text/event-stream" ? "(event stream)" : await response.Content.ReadAsStringAsync();
        return $"{(int)response.StatusCode} {response.StatusCode}: {body}\napi output (last lines):\n{Api.OutputTail(30)}";
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    private async Task<JsonDocument> JsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(Relative(path));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {await Describe(response)}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>POST /api/session with the key; checks the cookie's attributes and returns it as a Cookie header value.</summary>
    private async Task<string> SessionCookieAsync(string key)
    {
        using var client = Api.Client(key);
        using var response = await client.PostAsync(Relative("/api/session"), null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        var attributes = setCookie.Split(';', StringSplitOptions.TrimEntries);
        Assert.StartsWith("telemetry_key=", attributes[0], StringComparison.Ordinal);
        Assert.True(attributes[0].Length > "telemetry_key=".Length, setCookie);
        Assert.Contains("httponly", attributes, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("path=/", attributes, StringComparer.OrdinalIgnoreCase);
        return attributes[0];
    }

    private static JsonElement Compartment(JsonElement bin, string id) =>
        bin.GetProperty("compartments").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    private static List<(string Start, double? FillPct, double? NetKg)> Buckets(JsonElement compartments, string id)
    {
        var c = compartments.EnumerateArray().Single(x => x.GetProperty("id").GetString() == id);
        return [.. c.GetProperty("buckets").EnumerateArray().Select(b =>
        {
            Assert.Equal(["start", "fillPct", "netKg", "cleanPct"], b.EnumerateObject().Select(p => p.Name));
            return (b.GetProperty("start").GetString()!, Number(b.GetProperty("fillPct")), Number(b.GetProperty("netKg")));
        })];
    }

    private static double? Number(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble();

    /// <summary>An object with <c>depositedKg</c> (the four streams, in the contract's order) and <c>diversionRate</c>.</summary>
    private static void AssertFigures(JsonElement figures, double recyclable, double kitchen, double hazardous, double residual, double? rate)
    {
        var kg = figures.GetProperty("depositedKg");
        Assert.Equal(["recyclable", "kitchen", "hazardous", "residual"], kg.EnumerateObject().Select(p => p.Name));
        Assert.Equal((recyclable, kitchen, hazardous, residual),
            (kg.GetProperty("recyclable").GetDouble(), kg.GetProperty("kitchen").GetDouble(), kg.GetProperty("hazardous").GetDouble(), kg.GetProperty("residual").GetDouble()));
        Assert.Equal(rate, Number(figures.GetProperty("diversionRate")));
    }

    private static void AssertGroups(JsonElement root, params (string Key, string Name, double Recyclable, double Kitchen, double Hazardous, double Residual, double? Rate)[] expected)
    {
        var groups = root.GetProperty("groups").EnumerateArray().ToList();
        Assert.Equal(expected.Select(e => e.Key), groups.Select(g => g.GetProperty("key").GetString()));
        for (var i = 0; i < expected.Length; i++)
        {
            var (key, name, r, k, h, res, rate) = expected[i];
            Assert.Equal(["key", "name", "depositedKg", "diversionRate"], groups[i].EnumerateObject().Select(p => p.Name));
            Assert.Equal(name, groups[i].GetProperty("name").GetString());
            AssertFigures(groups[i], r, k, h, res, rate);
        }
    }

    /// <summary>GET with Accept: text/csv; checks the byte-order mark and CRLF line ends; returns the lines.</summary>
    private async Task<(string? ContentType, string[] Lines)> CsvAsync(string path)
    {
        using var client = Api.Client(Keys.Analyst);
        using var request = new HttpRequestMessage(HttpMethod.Get, Relative(path));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await Describe(response));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(bytes.Length > 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF, "the CSV does not start with a UTF-8 byte-order mark");
        var text = new UTF8Encoding(false, true).GetString(bytes, 3, bytes.Length - 3);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("\r", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        return (response.Content.Headers.ContentType?.MediaType, text[..^2].Split("\r\n"));
    }

    private static string Row(string key, string name, double recyclable, double kitchen, double hazardous, double residual, double? rate) =>
        string.Join(',', key, name, Csv(recyclable), Csv(kitchen), Csv(hazardous), Csv(residual), rate is { } r ? Csv(r) : "");

    private static string Csv(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void AssertTotalRow(string line, double recyclable, double kitchen, double hazardous, double residual, double? rate)
    {
        var cells = line.Split(',');
        Assert.Equal(7, cells.Length);
        Assert.Equal("total", cells[0]);
        var numbers = cells[2..6];
        Assert.All(numbers, c => Assert.Matches(@"^\d+(\.\d+)?$", c));
        Assert.Equal([recyclable, kitchen, hazardous, residual], numbers.Select(c => double.Parse(c, CultureInfo.InvariantCulture)));
        if (rate is { } r)
        {
            Assert.Equal(r, double.Parse(cells[6], CultureInfo.InvariantCulture));
        }
        else
        {
            Assert.Equal("", cells[6]);
        }
    }
}

public sealed class SqliteApiTests(SqliteApiFixture fixture) : ApiContractTests(fixture), IClassFixture<SqliteApiFixture>;

public sealed class InfluxDbApiTests(InfluxDbApiFixture fixture) : ApiContractTests(fixture), IClassFixture<InfluxDbApiFixture>;
