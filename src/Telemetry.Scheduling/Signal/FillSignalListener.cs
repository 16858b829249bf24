using Telemetry.Contracts.Readings;
using Telemetry.Fleet.Signal;
using Telemetry.Storage;

namespace Telemetry.Scheduling.Signal;

/// <summary>
/// Told what the fill signal made of each run of readings it took. Called from the signal's one loop, runs in order; a listener
/// returns at once (hands the batch to its own loop).
/// </summary>
public interface IFillSignalListener
{
    void Taken(FillSignalBatch batch);
}

/// <summary>
/// One run of readings taken: each reading in the order taken with the cleaned level and prediction after it (fill readings only),
/// the compartments whose cleaned level or prediction moved, and the emptyings detected. <see cref="Rebuild"/>: the readings are
/// the history replayed at start (or at a takeover), not news.
/// </summary>
public sealed record FillSignalBatch(bool Rebuild, IReadOnlyList<SignalObservation> Observations, IReadOnlyList<CleanedCompartment> Cleaned, IReadOnlyList<CollectionEvent> Collections);

/// <summary>A reading as the signal took it; for a fill reading, the cleaned level and the prediction after it (null until it has one).</summary>
public readonly record struct SignalObservation(Reading Reading, double? CleanedPct, FillForecast? Forecast);

/// <summary>
/// When a compartment is predicted to reach the collection threshold and full, each with its 80 % band (null: not within the
/// 7-day horizon), made at <see cref="MadeAt"/> from the cleaned level; the rise per hour it assumes now, and what it learned
/// from (<c>own</c> history, its <c>community</c>'s or <c>stream</c>'s rhythm as a cold start, or the current <c>cycle</c>).
/// </summary>
public sealed record CompartmentPrediction(
    DateTimeOffset MadeAt, double ThresholdPct,
    DateTimeOffset? ThresholdAt, DateTimeOffset? ThresholdLow, DateTimeOffset? ThresholdHigh,
    DateTimeOffset? FullAt, DateTimeOffset? FullLow, DateTimeOffset? FullHigh,
    double RatePctPerHour, string Basis);

/// <summary>The cleaned level of one compartment and its prediction, as the fill signal gives them.</summary>
public sealed record CleanedCompartment(string BinId, string Compartment, double LevelPct, DateTimeOffset Time, CompartmentPrediction? Prediction, DateTimeOffset? TakenAt = null);
