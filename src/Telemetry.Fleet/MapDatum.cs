namespace Telemetry.Fleet;

/// <summary>The datum a street map's tiles are drawn in. The registry is WGS 84; Chinese street maps use GCJ-02.</summary>
public enum MapDatum
{
    Wgs84,
    Gcj02,
}

/// <summary>
/// WGS 84 to GCJ-02, the obfuscated datum of Chinese street maps, with the published conversion (the Krasovsky
/// ellipsoid and the standard offset polynomials). A marker drawn at WGS 84 coordinates on a GCJ-02 map lands 300 to
/// 600 m off in Jinan. Points outside mainland China's rough bounding box are unchanged, as GCJ-02 leaves them.
/// </summary>
public static class MapDatums
{
    private const double A = 6378245.0;
    private const double Ee = 0.00669342162296594323;

    public static bool TryParse(string? text, out MapDatum datum)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "wgs84" or "wgs-84":
                datum = MapDatum.Wgs84;
                return true;
            case "gcj02" or "gcj-02":
                datum = MapDatum.Gcj02;
                return true;
            default:
                datum = default;
                return false;
        }
    }

    public static string Name(this MapDatum datum) => datum == MapDatum.Gcj02 ? "gcj02" : "wgs84";

    /// <summary>Where <paramref name="wgs84"/> is drawn on a map in <paramref name="datum"/>.</summary>
    public static GeoPoint ToMap(this MapDatum datum, GeoPoint wgs84) => datum == MapDatum.Gcj02 ? ToGcj02(wgs84) : wgs84;

    public static GeoPoint ToGcj02(GeoPoint p)
    {
        if (OutsideChina(p))
        {
            return p;
        }
        var x = p.Longitude - 105.0;
        var y = p.Latitude - 35.0;
        var dLat = Latitude(x, y);
        var dLon = Longitude(x, y);
        var radLat = p.Latitude / 180.0 * Math.PI;
        var magic = Math.Sin(radLat);
        magic = 1 - Ee * magic * magic;
        var sqrtMagic = Math.Sqrt(magic);
        dLat = dLat * 180.0 / (A * (1 - Ee) / (magic * sqrtMagic) * Math.PI);
        dLon = dLon * 180.0 / (A / sqrtMagic * Math.Cos(radLat) * Math.PI);
        return new GeoPoint(p.Latitude + dLat, p.Longitude + dLon);
    }

    private static bool OutsideChina(GeoPoint p) =>
        p.Longitude < 72.004 || p.Longitude > 137.8347 || p.Latitude < 0.8293 || p.Latitude > 55.8271;

    private static double Latitude(double x, double y)
    {
        var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.Sqrt(Math.Abs(x));
        r += (20.0 * Math.Sin(6.0 * x * Math.PI) + 20.0 * Math.Sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
        r += (20.0 * Math.Sin(y * Math.PI) + 40.0 * Math.Sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
        r += (160.0 * Math.Sin(y / 12.0 * Math.PI) + 320.0 * Math.Sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
        return r;
    }

    private static double Longitude(double x, double y)
    {
        var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.Sqrt(Math.Abs(x));
        r += (20.0 * Math.Sin(6.0 * x * Math.PI) + 20.0 * Math.Sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
        r += (20.0 * Math.Sin(x * Math.PI) + 40.0 * Math.Sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
        r += (150.0 * Math.Sin(x / 12.0 * Math.PI) + 300.0 * Math.Sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
        return r;
    }
}
