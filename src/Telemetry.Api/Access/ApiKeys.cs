using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Telemetry.Api.Access;

/// <summary>Who a key belongs to.</summary>
public sealed record ApiKeyOwner(string Name, string Role);

/// <summary>
/// The configured keys, as SHA-256 hashes. A presented key is hashed and compared with every configured hash in
/// constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>, no early exit), so neither the comparison
/// nor the position of the match leaks through timing.
/// </summary>
public sealed class ApiKeys
{
    /// <summary>Longer keys are refused before hashing (a hostile header must not cost more than a normal one).</summary>
    public const int MaxKeyLength = 256;

    private readonly (byte[] Hash, ApiKeyOwner Owner)[] _keys;

    public ApiKeys(IOptions<ApiOptions> options)
        : this(options.Value.Keys.Select(k => (k.Key, k.Value.Role!, k.Value.Sha256!)))
    {
    }

    internal ApiKeys(IEnumerable<(string Name, string Role, string Sha256)> keys) =>
        _keys = [.. keys.Select(k => (Convert.FromHexString(k.Sha256), new ApiKeyOwner(k.Name, k.Role)))];

    public int Count => _keys.Length;

    public ApiKeyOwner? Find(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength)
        {
            return null;
        }
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        ApiKeyOwner? found = null;
        foreach (var (expected, owner) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                found = owner;
            }
        }
        return found;
    }

    /// <summary>A new key: 32 random bytes, URL-safe Base64, with a prefix that says what it is.</summary>
    public static string NewKey() => "tlm_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The lowercase hex SHA-256 of the key's UTF-8 bytes, as <c>Api:Keys:{name}:Sha256</c> takes it.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
