using System.Globalization;
using System.Text.RegularExpressions;

namespace Telemetry.Fleet;

/// <summary>
/// Checks a registry document and lists every fault, each naming the entry
/// (e.g. <c>bins[3] 'JY-004': unknown community 'c99'</c>).
/// </summary>
internal static partial class FleetRegistryValidator
{
    // Bin ids become MQTT topic levels and usernames: no wildcards, separators or whitespace.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex BinIdPattern();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    private static partial Regex CompartmentIdPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex EntityIdPattern();

    public static List<string> Validate(RegistryDocument doc)
    {
        var errors = new List<string>();

        CheckText("registry", "districtZh", doc.DistrictZh, errors);
        CheckText("registry", "cityZh", doc.CityZh, errors);
        if (string.IsNullOrWhiteSpace(doc.District))
        {
            errors.Add("district: missing");
        }
        if (string.IsNullOrWhiteSpace(doc.TimeZone))
        {
            errors.Add("timeZone: missing (e.g. \"Asia/Shanghai\")");
        }
        else if (!TimeZoneInfo.TryFindSystemTimeZoneById(doc.TimeZone, out _))
        {
            errors.Add($"timeZone: unknown time zone '{doc.TimeZone}'");
        }

        var bounds = ValidateBounds(doc.Bounds, errors);
        var communityIds = ValidateCommunities(doc.Communities, errors);
        var facilityKinds = ValidateFacilities(doc.Facilities, bounds, errors);
        ValidateBins(doc.Bins, communityIds, bounds, errors);
        ValidateVehicles(doc.Vehicles, facilityKinds, errors);
        return errors;
    }

    internal static TimeOnly? ParseShiftTime(string? s) =>
        TimeOnly.TryParseExact(s, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;

    private static GeoBounds? ValidateBounds(BoundsDocument? b, List<string> errors)
    {
        if (b is null)
        {
            errors.Add("bounds: missing (south, north, west, east)");
            return null;
        }
        if (b.South is not { } s || b.North is not { } n || b.West is not { } w || b.East is not { } e)
        {
            errors.Add("bounds: each of south, north, west and east is required");
            return null;
        }
        if (!(s >= -90 && n <= 90 && s < n))
        {
            errors.Add($"bounds: south {s} and north {n} must satisfy -90 <= south < north <= 90");
            return null;
        }
        if (!(w >= -180 && e <= 180 && w < e))
        {
            errors.Add($"bounds: west {w} and east {e} must satisfy -180 <= west < east <= 180");
            return null;
        }
        return new GeoBounds(s, n, w, e);
    }

    private static HashSet<string> ValidateCommunities(List<CommunityDocument?>? communities, List<string> errors)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (communities is null || communities.Count == 0)
        {
            errors.Add("communities: at least one community is required");
            return ids;
        }
        for (var i = 0; i < communities.Count; i++)
        {
            var c = communities[i];
            var at = $"communities[{i}]";
            if (c is null)
            {
                errors.Add($"{at}: null entry");
                continue;
            }
            if (string.IsNullOrWhiteSpace(c.Id) || !EntityIdPattern().IsMatch(c.Id))
            {
                errors.Add($"{at}: id missing or not a valid id ('{c.Id}')");
                continue;
            }
            at += $" '{c.Id}'";
            if (!ids.Add(c.Id))
            {
                errors.Add($"{at}: duplicate community id");
            }
            if (string.IsNullOrWhiteSpace(c.Name))
            {
                errors.Add($"{at}: name missing");
            }
            CheckText(at, "name", c.Name, errors);
            CheckText(at, "nameZh", c.NameZh, errors);
            if (c.Residents is < 0)
            {
                errors.Add($"{at}: residents must not be negative");
            }
        }
        return ids;
    }

    private static Dictionary<FacilityKind, List<string>> ValidateFacilities(List<FacilityDocument?>? facilities, GeoBounds? bounds, List<string> errors)
    {
        var kinds = new Dictionary<FacilityKind, List<string>>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (facilities is null || facilities.Count == 0)
        {
            errors.Add("facilities: at least a depot is required");
            return kinds;
        }
        for (var i = 0; i < facilities.Count; i++)
        {
            var f = facilities[i];
            var at = $"facilities[{i}]";
            if (f is null)
            {
                errors.Add($"{at}: null entry");
                continue;
            }
            if (string.IsNullOrWhiteSpace(f.Id) || !EntityIdPattern().IsMatch(f.Id))
            {
                errors.Add($"{at}: id missing or not a valid id ('{f.Id}')");
                continue;
            }
            at += $" '{f.Id}'";
            if (!ids.Add(f.Id))
            {
                errors.Add($"{at}: duplicate facility id");
            }
            if (!FacilityKinds.TryParse(f.Kind, out var kind))
            {
                errors.Add($"{at}: unknown kind '{f.Kind}' (expected one of {string.Join(", ", FacilityKinds.All.Select(k => k.Name()))})");
            }
            else
            {
                if (!kinds.TryGetValue(kind, out var list))
                {
                    kinds[kind] = list = [];
                }
                list.Add(f.Id);
            }
            CheckText(at, "name", f.Name, errors);
            CheckText(at, "nameZh", f.NameZh, errors);
            CheckLocation(at, f.Lat, f.Lon, bounds, errors);
        }
        if (!kinds.ContainsKey(FacilityKind.Depot))
        {
            errors.Add("facilities: no facility of kind 'depot'");
        }
        return kinds;
    }

    private static void ValidateBins(List<BinDocument?>? bins, HashSet<string> communityIds, GeoBounds? bounds, List<string> errors)
    {
        if (bins is null || bins.Count == 0)
        {
            errors.Add("bins: at least one bin is required");
            return;
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < bins.Count; i++)
        {
            var b = bins[i];
            var at = $"bins[{i}]";
            if (b is null)
            {
                errors.Add($"{at}: null entry");
                continue;
            }
            if (string.IsNullOrWhiteSpace(b.Id) || !BinIdPattern().IsMatch(b.Id))
            {
                errors.Add($"{at}: id missing or not usable as an MQTT topic level and username ('{b.Id}')");
                continue;
            }
            at += $" '{b.Id}'";
            if (!ids.Add(b.Id))
            {
                errors.Add($"{at}: duplicate bin id");
            }
            if (string.IsNullOrWhiteSpace(b.Community))
            {
                errors.Add($"{at}: community missing");
            }
            else if (!communityIds.Contains(b.Community))
            {
                errors.Add($"{at}: unknown community '{b.Community}'");
            }
            CheckText(at, "address", string.IsNullOrEmpty(b.Address) ? null : b.Address, errors);
            CheckText(at, "addressZh", b.AddressZh, errors);
            CheckLocation(at, b.Lat, b.Lon, bounds, errors);
            ValidateCompartments(at, b.Compartments, errors);
        }
    }

    /// <summary>The longest name or address a registry may give.</summary>
    public const int MaxTextLength = 200;

    /// <summary>
    /// A name or address, when given (the Chinese ones are optional; without them the dashboard shows the English
    /// text in both languages): not blank, at most <see cref="MaxTextLength"/> characters, no control characters.
    /// </summary>
    private static void CheckText(string at, string field, string? value, List<string> errors)
    {
        if (value is null)
        {
            return;
        }
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{at}: {field} is blank (leave it out or give the text)");
        }
        else if (value.Length > MaxTextLength)
        {
            errors.Add($"{at}: {field} is longer than {MaxTextLength} characters");
        }
        else if (value.Any(char.IsControl))
        {
            errors.Add($"{at}: {field} contains a control character");
        }
    }

    private static void ValidateCompartments(string bin, List<CompartmentDocument?>? compartments, List<string> errors)
    {
        if (compartments is null || compartments.Count == 0)
        {
            errors.Add($"{bin}: no compartments");
            return;
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var j = 0; j < compartments.Count; j++)
        {
            var c = compartments[j];
            var at = $"{bin} compartments[{j}]";
            if (c is null)
            {
                errors.Add($"{at}: null entry");
                continue;
            }
            if (string.IsNullOrWhiteSpace(c.Id) || !CompartmentIdPattern().IsMatch(c.Id))
            {
                errors.Add($"{at}: id missing or not a lower-case material name ('{c.Id}')");
                continue;
            }
            at += $" '{c.Id}'";
            if (!ids.Add(c.Id))
            {
                errors.Add($"{at}: duplicate compartment id");
            }
            if (string.IsNullOrWhiteSpace(c.Stream))
            {
                errors.Add($"{at}: compartment without stream");
            }
            else if (!WasteStreams.TryParse(c.Stream, out var stream))
            {
                errors.Add($"{at}: unknown stream '{c.Stream}' (expected one of {string.Join(", ", WasteStreams.All.Select(s => s.Name()))})");
            }
            else if (WasteStreams.MaterialStreams.TryGetValue(c.Id, out var expected) && expected != stream)
            {
                errors.Add($"{at}: material '{c.Id}' belongs to stream '{expected.Name()}', not '{c.Stream}'");
            }
            if (c.Litres is not { } litres || !double.IsFinite(litres) || litres <= 0)
            {
                errors.Add($"{at}: litres must be a positive number");
            }
            if (c.MaxKg is not { } maxKg || !double.IsFinite(maxKg) || maxKg <= 0)
            {
                errors.Add($"{at}: maxKg must be a positive number");
            }
        }
    }

    private static void ValidateVehicles(List<VehicleDocument?>? vehicles, Dictionary<FacilityKind, List<string>> facilityKinds, List<string> errors)
    {
        if (vehicles is null)
        {
            return;
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var depots = facilityKinds.GetValueOrDefault(FacilityKind.Depot) ?? [];
        // A stream's vehicles that start together are one shift (one plan, named by the stream and the start): they end together.
        var shiftsByStart = new Dictionary<(WasteStream Stream, TimeOnly Start), (string Id, TimeOnly End)>();
        for (var i = 0; i < vehicles.Count; i++)
        {
            var v = vehicles[i];
            var at = $"vehicles[{i}]";
            if (v is null)
            {
                errors.Add($"{at}: null entry");
                continue;
            }
            if (string.IsNullOrWhiteSpace(v.Id) || !EntityIdPattern().IsMatch(v.Id))
            {
                errors.Add($"{at}: id missing or not a valid id ('{v.Id}')");
                continue;
            }
            at += $" '{v.Id}'";
            if (!ids.Add(v.Id))
            {
                errors.Add($"{at}: duplicate vehicle id");
            }
            if (!WasteStreams.TryParse(v.Stream, out var stream))
            {
                errors.Add($"{at}: vehicle for an unknown stream '{v.Stream}'");
            }
            else if (!facilityKinds.ContainsKey(stream.Destination()))
            {
                errors.Add($"{at}: stream '{v.Stream}' has no facility of kind '{stream.Destination().Name()}' to unload at");
            }
            if (v.CapacityKg is not { } cap || !double.IsFinite(cap) || cap <= 0)
            {
                errors.Add($"{at}: capacityKg must be a positive number");
            }
            if (string.IsNullOrWhiteSpace(v.Depot))
            {
                errors.Add($"{at}: depot missing");
            }
            else if (!depots.Contains(v.Depot))
            {
                errors.Add($"{at}: unknown depot '{v.Depot}'");
            }
            var start = ParseShiftTime(v.ShiftStart);
            var end = ParseShiftTime(v.ShiftEnd);
            if (start is null)
            {
                errors.Add($"{at}: shiftStart '{v.ShiftStart}' is not a local time HH:mm");
            }
            if (end is null)
            {
                errors.Add($"{at}: shiftEnd '{v.ShiftEnd}' is not a local time HH:mm");
            }
            if (start is not null && start == end)
            {
                errors.Add($"{at}: shift starts and ends at the same time");
            }
            else if (start is { } s && end is { } e && WasteStreams.TryParse(v.Stream, out var shiftStream))
            {
                if (!shiftsByStart.TryGetValue((shiftStream, s), out var first))
                {
                    shiftsByStart[(shiftStream, s)] = (v.Id, e);
                }
                else if (first.End != e)
                {
                    errors.Add($"{at}: shift {s:HH\\:mm}–{e:HH\\:mm} starts with '{first.Id}' ({s:HH\\:mm}–{first.End:HH\\:mm}) but ends otherwise: " +
                        $"a stream's vehicles that start together must end together (one plan per stream and start)");
                }
            }
        }
    }

    private static void CheckLocation(string at, double? lat, double? lon, GeoBounds? bounds, List<string> errors)
    {
        if (lat is not { } la || lon is not { } lo || !double.IsFinite(la) || !double.IsFinite(lo))
        {
            errors.Add($"{at}: lat and lon are required");
            return;
        }
        if (bounds is not null && !bounds.Contains(new GeoPoint(la, lo)))
        {
            errors.Add($"{at}: coordinates {la.ToString(CultureInfo.InvariantCulture)}, {lo.ToString(CultureInfo.InvariantCulture)} are outside the district " +
                $"({bounds.South.ToString(CultureInfo.InvariantCulture)}–{bounds.North.ToString(CultureInfo.InvariantCulture)} N, " +
                $"{bounds.West.ToString(CultureInfo.InvariantCulture)}–{bounds.East.ToString(CultureInfo.InvariantCulture)} E)");
        }
    }
}
