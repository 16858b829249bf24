using Microsoft.Extensions.Time.Testing;
using Telemetry.Scheduling.Alerts;

namespace Telemetry.UnitTests.Scheduling;

/// <summary>Every alert kind of CONTRACT §6 raised and cleared, with hysteresis, late readings, suppression, re-fire and escalation.</summary>
public class AlertEngineTests
{
    private const string Bin = "JY-001";
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero));
    private readonly AlertEngine _engine = new(new AlertOptions());

    private DateTimeOffset Next(double minutes = 10)
    {
        _clock.Advance(TimeSpan.FromMinutes(minutes));
        return _clock.GetUtcNow();
    }

    private IReadOnlyList<AlertEvent> Fill(double pct, bool covered = false, double? raw = null) => _engine.Fill(Bin, "paper", Next(), pct, raw ?? pct, covered);

    private IReadOnlyList<AlertEvent> Status(bool? online = null, double? battery = null, double? temp = null, bool? tilt = null, bool? door = null, double minutes = 10) =>
        _engine.Status(Bin, Next(minutes), true, online, battery, temp, tilt, door);

    /// <summary>The tilt alert's events only (a bin left silent for hours also goes offline).</summary>
    private static List<AlertEvent> Tilt(IReadOnlyList<AlertEvent> events) => [.. events.Where(e => e.Alert.Kind == AlertKinds.Tilt)];

    private static (string Type, string Kind, string Severity) Only(IReadOnlyList<AlertEvent> events)
    {
        var e = Assert.Single(events);
        return (e.Type, e.Alert.Kind, e.Alert.Severity);
    }

    [Fact]
    public void Fill_needs_two_readings_at_the_threshold_and_clears_ten_points_below_it()
    {
        Assert.Empty(Fill(79));
        Assert.Empty(Fill(81)); // one reading at the threshold: not yet
        var raised = Assert.Single(Fill(82));
        Assert.Equal((AlertEvent.Raised, AlertKinds.Fill, Severities.Warning, "paper"), (raised.Type, raised.Alert.Kind, raised.Alert.Severity, raised.Alert.Compartment));
        Assert.Equal(_clock.GetUtcNow(), raised.Alert.RaisedAt); // the time of the reading that raised it
        Assert.Empty(Fill(75)); // below the threshold, inside the hysteresis: still active
        Assert.Empty(Fill(81));
        Assert.Equal((AlertEvent.Cleared, AlertKinds.Fill, Severities.Warning), Only(Fill(69.9)));
        Assert.Empty(_engine.Active);
    }

    [Fact]
    public void Fill_is_not_raised_for_a_compartment_an_open_job_covers()
    {
        Fill(85, covered: true);
        Assert.Empty(Fill(86, covered: true));
        Assert.Single(Fill(87)); // the job closed without an emptying: it is raised
    }

    [Fact]
    public void Overflow_is_critical_and_clears_below_ninety()
    {
        Fill(96);
        var events = Fill(97);
        Assert.Contains(events, e => e.Type == AlertEvent.Raised && e.Alert.Kind == AlertKinds.Overflow && e.Alert.Severity == Severities.Critical);
        Assert.DoesNotContain(Fill(92), e => e.Alert.Kind == AlertKinds.Overflow);
        Assert.Contains(Fill(89), e => e.Type == AlertEvent.Cleared && e.Alert.Kind == AlertKinds.Overflow);
    }

    [Fact]
    public void Predicted_full_is_raised_within_12_hours_and_cleared_by_a_job_or_beyond_18()
    {
        var now = Next();
        Assert.Empty(_engine.Prediction(Bin, "paper", now, now.AddHours(13), covered: false));
        Assert.Equal((AlertEvent.Raised, AlertKinds.PredictedFull, Severities.Warning), Only(_engine.Prediction(Bin, "paper", now, now.AddHours(11), covered: false)));
        now = Next();
        Assert.Empty(_engine.Prediction(Bin, "paper", now, now.AddHours(17), covered: false)); // between 12 and 18: holds
        Assert.Equal(AlertEvent.Cleared, Only(_engine.Prediction(Bin, "paper", now, now.AddHours(17), covered: true)).Type);
        now = Next();
        Assert.Empty(_engine.Prediction(Bin, "paper", now, now.AddHours(5), covered: true)); // covered: not raised
        Assert.Single(_engine.Prediction(Bin, "paper", now, now.AddHours(5), covered: false));
        now = Next();
        Assert.Equal(AlertEvent.Cleared, Only(_engine.Prediction(Bin, "paper", now, now.AddHours(19), covered: false)).Type);
    }

    [Fact]
    public void Fire_after_a_fast_rise_to_50_is_critical_and_needs_two_readings_below_50_to_clear()
    {
        Status(temp: 22);
        var raised = Only(Status(temp: 52)); // 30 °C up within 30 minutes, and at 50 or more
        Assert.Equal((AlertEvent.Raised, AlertKinds.Fire, Severities.Critical), raised);
        Assert.Empty(Status(temp: 49)); // one reading below 50
        Assert.Empty(Status(temp: 60)); // and up again: the count starts over
        Assert.Empty(Status(temp: 45));
        Assert.Equal(AlertEvent.Cleared, Only(Status(temp: 44)).Type);
    }

    [Fact]
    public void A_slow_warm_up_is_no_fire_until_70()
    {
        Status(temp: 22);
        Assert.Empty(Status(temp: 35, minutes: 20));
        Assert.Empty(Status(temp: 48, minutes: 20));
        Assert.Empty(Status(temp: 55, minutes: 20)); // 55 °C, but only 7 up on the reading 20 minutes before
        Assert.Equal((AlertEvent.Raised, AlertKinds.Fire, Severities.Critical), Only(Status(temp: 70)));
    }

    [Fact]
    public void Tilt_follows_the_flag()
    {
        Assert.Equal((AlertEvent.Raised, AlertKinds.Tilt, Severities.Warning), Only(Status(tilt: true)));
        Assert.Empty(Status(tilt: true));
        Assert.Equal(AlertEvent.Cleared, Only(Status(tilt: false)).Type);
    }

    [Fact]
    public void A_door_open_for_ten_minutes_without_a_close_between_is_raised()
    {
        Assert.Empty(Status(door: true));
        Assert.Empty(Status(door: true, minutes: 5));
        Assert.Empty(Status(door: false, minutes: 1)); // closed in between: the span starts again
        Assert.Empty(Status(door: true, minutes: 1));
        Assert.Empty(Status(door: true, minutes: 9));
        Assert.Equal((AlertEvent.Raised, AlertKinds.DoorOpen, Severities.Warning), Only(Status(door: true, minutes: 1)));
        Assert.Equal(AlertEvent.Cleared, Only(Status(door: false)).Type);
    }

    [Fact]
    public void Low_battery_is_info_a_warning_at_five_and_clears_at_25()
    {
        Assert.Empty(Status(battery: 16));
        Assert.Equal((AlertEvent.Raised, AlertKinds.LowBattery, Severities.Info), Only(Status(battery: 15)));
        Assert.Equal((AlertEvent.Escalated, AlertKinds.LowBattery, Severities.Warning), Only(Status(battery: 5)));
        Assert.Empty(Status(battery: 20)); // recharging, not yet 25
        Assert.Equal(AlertEvent.Cleared, Only(Status(battery: 25)).Type);
        Assert.Equal((AlertEvent.Raised, AlertKinds.LowBattery, Severities.Warning), Only(Status(battery: 3)));
    }

    [Fact]
    public void Offline_by_its_last_will_or_by_silence_and_cleared_by_any_later_message()
    {
        Fill(20);
        var will = _engine.Status(Bin, Next(1), false, false, null, null, null, null);
        Assert.Equal((AlertEvent.Raised, AlertKinds.Offline, Severities.Warning), Only(will));
        Assert.Empty(_engine.Status(Bin, Next(1), false, false, null, null, null, null)); // its will again: one alert
        Assert.Equal(AlertEvent.Cleared, Only(_engine.Message(Bin, Next(30))).Type);

        // Silence: fill every 10 minutes, then nothing for more than 3 intervals.
        Fill(21);
        Fill(22);
        Next(29);
        Assert.Empty(_engine.Tick(_clock.GetUtcNow()));
        Next(2);
        Assert.Equal((AlertEvent.Raised, AlertKinds.Offline, Severities.Warning), Only(_engine.Tick(_clock.GetUtcNow())));
        Assert.Empty(_engine.Tick(Next(1)));
        Assert.Contains(Fill(23), e => e.Type == AlertEvent.Cleared && e.Alert.Kind == AlertKinds.Offline);
    }

    [Fact]
    public void No_offline_alert_while_ingestion_itself_is_away_from_the_broker_nor_within_three_intervals_of_it()
    {
        Fill(20);
        _engine.Fill("JY-002", "paper", _clock.GetUtcNow(), 20, 20, false);
        _engine.IngestionDisconnected(Next(25));
        Next(20); // silent for 45 minutes, but ingestion was cut off 20 minutes ago (within 3 × 10)
        Assert.Empty(_engine.Tick(_clock.GetUtcNow()));
        Assert.Empty(_engine.Status(Bin, _clock.GetUtcNow(), false, false, null, null, null, null)); // a will delivered then: no alert either
        Next(40); // an hour without the broker: still none while it is away
        Assert.Empty(_engine.Tick(_clock.GetUtcNow()));
        _engine.IngestionReconnected(Next(1));
        Next(20); // back 20 minutes ago: its backlog may still be on its way
        Assert.Empty(_engine.Tick(_clock.GetUtcNow()));
        Next(15); // back 35 minutes ago, and the bins are still silent
        Assert.Equal(2, _engine.Tick(_clock.GetUtcNow()).Count(e => e.Type == AlertEvent.Raised && e.Alert.Kind == AlertKinds.Offline));
    }

    [Fact]
    public void A_stuck_sensor_is_raised_after_24_hours_flat_while_deposits_arrived_and_cleared_by_a_move()
    {
        var events = new List<AlertEvent>();
        for (var i = 0; i < 24 * 6; i++)
        {
            events.AddRange(Fill(40 + ((i % 3) * 0.5)));
            events.AddRange(_engine.Deposit(Bin, "paper", _clock.GetUtcNow().AddMinutes(1), 0.1));
        }
        Assert.Empty(events); // 14.4 kg deposited, flat, but not yet 24 hours of readings
        Assert.Equal((AlertEvent.Raised, AlertKinds.StuckSensor, Severities.Warning), Only(Fill(40.5)));
        Assert.Empty(Fill(42)); // 2 points off: still stuck
        Assert.Equal(AlertEvent.Cleared, Only(Fill(43.5)).Type);
    }

    [Fact]
    public void A_flat_signal_without_deposits_is_not_stuck()
    {
        for (var i = 0; i < 26 * 6; i++)
        {
            Assert.Empty(Fill(40));
        }
    }

    [Fact]
    public void A_late_reading_never_raises_or_clears_by_itself()
    {
        Fill(85);
        var t = _clock.GetUtcNow();
        Assert.Single(Fill(86)); // raised
        Assert.Empty(_engine.Fill(Bin, "paper", t.AddMinutes(-30), 10, 10, false)); // an old reading of 10 %: no clear
        Assert.Single(_engine.Active);
        Status(tilt: false);
        var statusAt = _clock.GetUtcNow();
        Assert.Empty(_engine.Status(Bin, statusAt.AddMinutes(-5), true, null, null, null, true, null)); // an old tilt: no alert
        // A status timed by its receive time does not move the mark: a device-timed one just after the mark still counts.
        _engine.Status(Bin, statusAt.AddMinutes(10), false, true, null, null, null, null);
        Assert.Single(_engine.Status(Bin, statusAt.AddMinutes(1), true, null, null, null, true, null));
    }

    [Fact]
    public void An_acknowledged_alert_that_still_holds_fires_again_after_4_hours()
    {
        Status(tilt: true);
        var alert = Assert.Single(_engine.Active);
        var (result, ack) = _engine.Acknowledge(alert.Id, "li.wei", Next(1));
        Assert.Equal(AckResult.Acknowledged, result);
        Assert.Equal(("li.wei", AlertEvent.Acknowledged), (ack!.Alert.AcknowledgedBy, ack.Type));
        Assert.Empty(Tilt(_engine.Tick(Next(3 * 60 + 58))));
        var refired = Only(Tilt(_engine.Tick(Next(2))));
        Assert.Equal((AlertEvent.Refired, AlertKinds.Tilt, Severities.Warning), refired);
        var now = _engine.Active.Single(a => a.Kind == AlertKinds.Tilt);
        Assert.Equal((alert.Id, (DateTimeOffset?)null), (now.Id, now.AcknowledgedAt)); // the same id, acknowledgement cleared
        Assert.Empty(Tilt(_engine.Tick(Next(60))));
    }

    [Fact]
    public void An_alert_goes_up_one_severity_12_hours_after_it_was_raised_once()
    {
        Status(tilt: true);
        Assert.Empty(Tilt(_engine.Tick(Next(11 * 60 + 59))));
        Assert.Equal((AlertEvent.Escalated, AlertKinds.Tilt, Severities.Critical), Only(Tilt(_engine.Tick(Next(1)))));
        Assert.Empty(Tilt(_engine.Tick(Next(13 * 60))));
        Status(temp: 75); // critical from the start: nothing above it
        Assert.DoesNotContain(_engine.Tick(Next(13 * 60)), e => e.Alert.Kind == AlertKinds.Fire);
    }

    [Fact]
    public void Acknowledging_an_unknown_or_cleared_alert_says_so()
    {
        Assert.Equal(AckResult.NotFound, _engine.Acknowledge("JY-001:-:tilt:0", "li.wei", Next()).Result);
        Status(tilt: true);
        var id = Assert.Single(_engine.Active).Id;
        Status(tilt: false);
        Assert.Equal(AckResult.AlreadyCleared, _engine.Acknowledge(id, "li.wei", Next()).Result);
    }

    [Fact]
    public void The_same_readings_give_the_same_ids()
    {
        var a = new AlertEngine(new AlertOptions());
        var b = new AlertEngine(new AlertOptions());
        var t = _clock.GetUtcNow();
        a.Status(Bin, t, true, null, null, null, true, null);
        b.Status(Bin, t, true, null, null, null, true, null);
        Assert.Equal(Assert.Single(a.Active).Id, Assert.Single(b.Active).Id);
    }

    [Fact]
    public void The_defaults_are_valid_and_a_wrong_value_is_named()
    {
        Assert.Null(new AlertOptions().Problem());
        Assert.Contains("Alerts:FillHysteresisPct", new AlertOptions { FillHysteresisPct = 80 }.Problem(), StringComparison.Ordinal);
        Assert.Contains("Alerts:OverflowPct", new AlertOptions { OverflowPct = 75 }.Problem(), StringComparison.Ordinal);
        Assert.Contains("Alerts:LowBatteryPct", new AlertOptions { LowBatteryClearPct = 10 }.Problem(), StringComparison.Ordinal);
        Assert.Contains("Alerts:StuckBandPct", new AlertOptions { StuckClearPct = 1 }.Problem(), StringComparison.Ordinal);
        Assert.Contains("Alerts:RefireAfter", new AlertOptions { RefireAfter = TimeSpan.Zero }.Problem(), StringComparison.Ordinal);
    }
}
