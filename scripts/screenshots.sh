#!/usr/bin/env bash
# Renews the dashboard screenshots in docs/screenshots: runs the browser tests that take them
# (against a real `telemetry demo`, and the routes against the api role in the tests' process, in Debian's headless
# Chromium) with TELEMETRY_TEST_SCREENSHOTS set.
# Needs the services and the browser scripts/test.sh installs; run it as scripts/test.sh is run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export TELEMETRY_TEST_SCREENSHOTS="$ROOT/docs/screenshots"
mkdir -p "$TELEMETRY_TEST_SCREENSHOTS"
exec "$ROOT/scripts/test.sh" --filter "FullyQualifiedName~DashboardBrowserTests.Desktop_pages|FullyQualifiedName~DashboardBrowserTests.On_a_tablet|FullyQualifiedName~RoutesBrowserTests"
