#!/usr/bin/env bash
# Runs the tests. Every project but the chaos suite needs no root: unit tests (tests/Kombo.Worker.Tests), the
# emulator's own tests (tests/Kombo.Emulator.Tests) and integration tests (tests/Kombo.Worker.IntegrationTests)
# against RabbitMQ nodes the tests start for themselves (free ports, never your broker on 5672) and the Kombo emulator.
# The chaos suite (tests/Kombo.Worker.ChaosTests, at CI's small scale) needs root, because its disk scenario mounts a
# tmpfs: it runs when this script runs as root (CI: .ci/run passes --chaos) or with --chaos, which fails at once,
# saying why, when not root. Without root and without --chaos it is left out, and the last line says so.
# tests/Kombo.Worker.Tests then runs a second time on PostgreSQL (KOMBO_TEST_STORAGE=PostgreSql: the harness, store
# and relay tests on a private server of their own, a database per test), without the tests about SQLite itself
# (Storage=Sqlite); both runs count in the totals. KOMBO_TEST_POSTGRESQL=0 leaves that second run out, and the last
# line says so. scripts/chaos.sh runs the chaos suite alone, at full size.
# Missing packages (rabbitmq-server, python3-pika, postgresql) are installed with apt-get, through sudo when not root;
# without either, it names them and fails.
#
#   scripts/test.sh                                        everything you can run, Release
#   scripts/test.sh --chaos                                with the chaos suite (needs root)
#   scripts/test.sh --no-chaos                             without it, even as root
#   scripts/test.sh --filter "FullyQualifiedName~Broker"   other arguments go to dotnet test (a --filter is combined
#                                                          with the chaos exclusion)
#
# TRX files land in artifacts/test-results (with summary.txt). The last line is "N passed, N failed" (", N skipped" when
# some were; ", chaos suite not run (needs root: ...)" when it was left out).
# Exits non-zero if a test failed, if no test ran, or if dotnet test itself failed (a build error, a crashed run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly RESULTS=artifacts/test-results

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

chaos=auto
filter=""
args=()
while (($# > 0)); do
  case "$1" in
    --chaos) chaos=yes ;;
    --no-chaos) chaos=no ;;
    --filter) filter="${2:?--filter needs a value}"; shift ;;
    --filter=*) filter="${1#--filter=}" ;;
    -h | --help) sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [[ "$chaos" == yes && $EUID -ne 0 ]]; then
  echo "test: --chaos needs root: the chaos suite's disk scenario mounts a tmpfs of its own to fill it." >&2
  echo "test: run 'sudo scripts/test.sh --chaos', or leave out --chaos to run every other test." >&2
  exit 2
fi
[[ "$chaos" == auto ]] && { ((EUID == 0)) && chaos=yes || chaos=no; }
left_out=""
if [[ "$chaos" == no ]]; then
  left_out="chaos suite not run (needs root: scripts/test.sh --chaos or scripts/chaos.sh as root)"
  # Every chaos test carries Category=Chaos; the project still builds, so a compile error there still fails the run.
  filter="${filter:+($filter)&}Category!=Chaos"
fi

scripts/rabbitmq.sh install
scripts/postgres.sh install

# The documented Python subscriber (docs/examples/subscriber.py) is run by a test: it needs Debian's python3-pika.
if ! /usr/bin/python3 -c 'import pika' >/dev/null 2>&1; then
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 \
      || { echo "test: python3-pika is missing and installing it needs root: run 'apt-get install python3-pika' as root" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "test: installing python3-pika for the documented subscriber's test ..."
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pika >/dev/null 2>&1 \
    || { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
      && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pika >/dev/null 2>&1; } \
    || echo "test: could not install python3-pika; the subscriber test will fail and say so" >&2
fi

filter_args=()
[[ -n "$filter" ]] && filter_args=(--filter "$filter")

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
  "${filter_args[@]}" "${args[@]}"
status=$?
no_build=(--no-build)
[[ " ${args[*]} " == *" --no-build "* ]] && no_build=()
postgresql_status=0
if [[ "${KOMBO_TEST_POSTGRESQL:-1}" != 0 ]]; then
  KOMBO_TEST_STORAGE=PostgreSql dotnet test tests/Kombo.Worker.Tests/Kombo.Worker.Tests.csproj -c Release "${no_build[@]}" \
    --results-directory "$RESULTS" \
    --logger "trx;LogFilePrefix=kombo-postgresql" \
    --logger "console;verbosity=$verbosity" \
    --blame-hang-timeout 10m --blame-hang-dump-type none \
    --filter "${filter:+($filter)&}Storage!=Sqlite" "${args[@]}"
  postgresql_status=$?
else
  left_out+="${left_out:+; }PostgreSQL run of Kombo.Worker.Tests not run (KOMBO_TEST_POSTGRESQL=0)"
fi
((status == 0)) && status=$postgresql_status
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
[[ -n "$left_out" ]] && summary+=", $left_out"
echo "$summary" >"$RESULTS/summary.txt"
echo "$summary"

if ((status != 0 || failed > 0 || total == 0)); then
  exit 1
fi
