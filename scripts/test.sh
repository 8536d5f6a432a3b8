#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests against a RabbitMQ node the tests start for themselves
# (free ports, never your broker on 5672) and the Kombo emulator. Installs rabbitmq-server if it is missing.
#
#   scripts/test.sh                                        everything, Release
#   scripts/test.sh --filter "FullyQualifiedName~Broker"   extra arguments go to dotnet test
#
# TRX files land in artifacts/test-results (with summary.txt). The last line is "N passed, N failed" (", N skipped" when some were).
# Exits non-zero if a test failed, if no test ran, or if dotnet test itself failed (a build error, a crashed run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly RESULTS=artifacts/test-results

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scripts/rabbitmq.sh install

# The documented Python subscriber (docs/examples/subscriber.py) is run by a test: it needs Debian's python3-pika.
if ! /usr/bin/python3 -c 'import pika' >/dev/null 2>&1; then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  echo "test: installing python3-pika for the documented subscriber's test ..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pika >/dev/null 2>&1 \
    || { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pika >/dev/null 2>&1; } \
    || echo "test: could not install python3-pika; the subscriber test will fail and say so" >&2
fi

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# Every test's outcome on CI; locally only failures and the totals.
verbosity=minimal
[[ -n "${CI:-}" ]] && verbosity=normal

set +e
dotnet test Kombo.Worker.sln -c Release \
  --results-directory "$RESULTS" \
  --logger "trx;LogFilePrefix=kombo" \
  --logger "console;verbosity=$verbosity" \
  --blame-hang-timeout 10m --blame-hang-dump-type none \
  "$@"
status=$?
set -e
# The blame collector leaves empty per-run folders behind.
find "$RESULTS" -mindepth 1 -type d -empty -delete

# Sums one attribute of the <Counters .../> element over every TRX file (grep and sed only: no python on CI).
counter() {
  local sum=0 file value
  for file in "$RESULTS"/*.trx; do
    [[ -f "$file" ]] || continue
    value="$(grep -o '<Counters [^>]*' "$file" | grep -o " $1=\"[0-9]*\"" | sed 's/[^0-9]//g' | head -n 1)"
    sum=$((sum + ${value:-0}))
  done
  echo "$sum"
}

total=$(counter total)
passed=$(counter passed)
failed=$(($(counter failed) + $(counter error) + $(counter timeout) + $(counter aborted)))
# xunit's skipped tests are counted in total but not in executed.
skipped=$(($(counter total) - $(counter executed)))

if ((status != 0 && failed == 0)); then
  echo "dotnet test exited with code $status without a failed test: a build error or an aborted run (see above)." >&2
fi
if ((total == 0)); then
  echo "No test ran." >&2
fi

summary="$passed passed, $failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
echo "$summary" >"$RESULTS/summary.txt"
echo "$summary"

if ((status != 0 || failed > 0 || total == 0)); then
  exit 1
fi
