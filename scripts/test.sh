#!/usr/bin/env bash
# The project's one test command:
#
#   scripts/test.sh [extra dotnet test arguments, e.g. --filter Category!=Slow]
#
# Starts real Mosquitto, RabbitMQ and InfluxDB (scripts/services.sh, installing them and the
# browser tests' Chromium from Debian's archive if missing) in a temporary folder, runs
# `dotnet test` on the solution with their addresses (and the browser's path) in TELEMETRY_TEST_*
# variables, stops them by PID whatever happens (failure, Ctrl+C), and prints as its LAST line
# `N passed, N failed` (every test project together).
# Exits non-zero if the build or any test failed, or if no test ran.
#
# Environment:
#   TELEMETRY_SOLUTION            solution to test (default Telemetry.sln, else Telemetry.slnx,
#                                 at the repository root)
#   TELEMETRY_TEST_RESULTS        results folder (default TestResults/test-sh): trx files and,
#                                 after the run, the services' logs
#   TELEMETRY_TEST_HANG_TIMEOUT   a test running longer than this aborts the run (default 20m)
#   TELEMETRY_TEST_KEEP_SERVICES  1: keep the services' state folder after the run
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$ROOT"
SERVICES="$ROOT/scripts/services.sh"
RESULTS="${TELEMETRY_TEST_RESULTS:-$ROOT/TestResults/test-sh}"
HANG_TIMEOUT="${TELEMETRY_TEST_HANG_TIMEOUT:-20m}"

PASSED=0
FAILED=0
COUNTED=0
STATE=""

say() { printf '[test.sh] %s\n' "$*"; }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [[ -n $STATE ]]; then
        say "stopping services"
        "$SERVICES" stop "$STATE" >"$RESULTS/services-stop.log" 2>&1
        mkdir -p "$RESULTS/services"
        cp "$STATE"/*.log "$STATE"/*.out "$RESULTS/services/" 2>/dev/null
        cp "$STATE"/rabbitmq/log/*.log "$RESULTS/services/" 2>/dev/null
        if [[ ${TELEMETRY_TEST_KEEP_SERVICES:-0} == 1 ]]; then
            say "services' state kept in $STATE"
        else
            rm -rf "$STATE"
        fi
        say "services' logs in $RESULTS/services"
    fi
    if [[ $COUNTED != 1 ]]; then
        # The run did not get as far as counting (setup failed, or interrupted).
        PASSED=0
        FAILED=1
    fi
    if ((FAILED > 0 && rc == 0)); then rc=1; fi
    if ((rc != 0 && FAILED == 0)); then FAILED=1; fi
    echo "$PASSED passed, $FAILED failed"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v dotnet >/dev/null 2>&1 || { say "ERROR: dotnet not found on PATH (the .NET 10 SDK is required)" >&2; exit 1; }

SOLUTION="${TELEMETRY_SOLUTION:-}"
if [[ -z $SOLUTION ]]; then
    if [[ -f Telemetry.sln ]]; then SOLUTION=Telemetry.sln
    elif [[ -f Telemetry.slnx ]]; then SOLUTION=Telemetry.slnx
    else say "ERROR: no Telemetry.sln or Telemetry.slnx in $ROOT" >&2; exit 1
    fi
fi
[[ -e $SOLUTION ]] || { say "ERROR: solution $SOLUTION not found" >&2; exit 1; }

# Many simulated devices, one connection each.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

rm -rf "$RESULTS"
mkdir -p "$RESULTS/trx"

STATE="$(mktemp -d "${TMPDIR:-/tmp}/telemetry-services.XXXXXX")"
say "starting services in $STATE"
"$SERVICES" start "$STATE"
# shellcheck disable=SC1091
source "$STATE/env"
env | grep '^TELEMETRY_TEST_' | sort | sed 's/^/[test.sh]   /'

say "dotnet test $SOLUTION $*"
set +e
dotnet test "$SOLUTION" \
    --results-directory "$RESULTS/trx" \
    --logger trx \
    --logger "console;verbosity=normal" \
    --blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none \
    "$@"
TEST_RC=$?
set -e

# Sum the counters of every trx file (one per test project and target framework).
shopt -s nullglob
trx_files=("$RESULTS"/trx/*.trx)
attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2"; }
for f in "${trx_files[@]}"; do
    counters="$(grep -o '<Counters [^>]*>' "$f" | head -n 1 || true)"
    [[ -n $counters ]] || continue
    for a in passed; do n="$(attr "$a" "$counters")"; PASSED=$((PASSED + ${n:-0})); done
    for a in failed error timeout; do n="$(attr "$a" "$counters")"; FAILED=$((FAILED + ${n:-0})); done
done
COUNTED=1
say "${#trx_files[@]} test result file(s) in $RESULTS/trx; dotnet test exited with $TEST_RC"

if ((TEST_RC != 0)); then
    ((FAILED > 0)) || say "dotnet test failed without a failed test (build error, crash or hang): counted as 1 failure"
    exit "$TEST_RC"
fi
if ((PASSED + FAILED == 0)); then
    say "no test ran: counted as 1 failure"
    FAILED=1
    exit 1
fi
((FAILED == 0)) || exit 1
exit 0
