namespace Telemetry.Routing.Travel;

/// <summary>Makes the provider the <c>Routing:Travel</c> settings choose.</summary>
public static class TravelCostProviders
{
    /// <summary>
    /// The provider of <paramref name="options"/> (validated first: a bad setting throws naming its key). <paramref name="http"/>
    /// is the client the OSRM provider sends with; it is not used by the great-circle one.
    /// </summary>
    public static ITravelCostProvider Create(TravelOptions options, Func<HttpClient> http)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", errors));
        }
        return options.Provider == TravelOptions.OsrmProvider ? new OsrmTravel(http(), options.Osrm) : new GreatCircleTravel(options);
    }
}
