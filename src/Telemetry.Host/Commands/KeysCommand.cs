using System.CommandLine;
using Telemetry.Api;
using Telemetry.Api.Access;
using Telemetry.Contracts.Configuration;

namespace Telemetry.Host.Commands;

/// <summary><c>telemetry keys new --role R --name N</c> (CONTRACT §5): a new API key, shown once, and its two settings.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = $"The key's role: {string.Join(", ", ApiRoles.All)}.", Required = true };
        var name = new Option<string>("--name") { Description = "The key's label: the person it is for (letters, digits, '.', '_', '-'); logs and audit name it.", Required = true };
        var create = new Command("new", "Make an API key: prints the key once and the two Api:Keys:NAME:* settings to configure (the key itself is never configured).") { role, name };
        create.SetAction(parse =>
        {
            var r = parse.GetValue(role) ?? "";
            var n = parse.GetValue(name) ?? "";
            if (!ApiRoles.All.Contains(r, StringComparer.Ordinal))
            {
                throw new ConfigurationException("--role", $"'{r}' is not a role; one of {string.Join(", ", ApiRoles.All)}");
            }
            if (!ApiOptionsValidator.KeyName().IsMatch(n))
            {
                throw new ConfigurationException("--name", $"'{n}' is not a key name: 1-64 letters, digits, '.', '_' or '-'");
            }
            var key = ApiKeys.NewKey();
            Console.WriteLine($"""
                API key for {n} ({r}); it is shown only now, give it to {n} and keep no copy:
                  {key}
                Configure these two settings (appsettings.json, or environment variables with __ for :):
                  Api:Keys:{n}:Role={r}
                  Api:Keys:{n}:Sha256={ApiKeys.Hash(key)}
                """);
            return 0;
        });
        return new Command("keys", "API keys.") { create };
    }
}
