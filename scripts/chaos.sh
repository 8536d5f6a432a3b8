#!/usr/bin/env bash
# The chaos suite at full size: the real worker against a private RabbitMQ node and the Kombo emulator, through bad
# input, log secrets, a full disk, 20 kill -9s of the worker process over 5,000 commands, broker restarts, a 4-minute
# broker outage (memory alarm; KOMBO_CHAOS_OUTAGE=00:01:00 shortens it), a flaky Kombo, and three worker processes on
# one PostgreSQL database (5,000 commands in causal chains, a random instance killed every 3 to 5 s, then all but one
# killed for good; and 1,500 single-use tokens, every other one sent twice at once, while one or two instances at a
# time are killed every 2 to 4 s and restarted). Prints one summary row per scenario. Needs root (the disk scenario mounts a small tmpfs),
# rabbitmq-server and postgresql, which it installs if missing.
# The suite is its own project (tests/Kombo.Worker.ChaosTests); scripts/test.sh runs it at CI's small scale when
# run as root or with --chaos (CI does both), and leaves it out otherwise.
#
#   scripts/chaos.sh                          full scale (KOMBO_CHAOS_SCALE=full), Release, about 15 minutes
#   scripts/chaos.sh --fast                   the scale CI runs
#   scripts/chaos.sh --filter Kill            the scenarios whose test class name starts with Kill
#   scripts/chaos.sh --filter ClusterKill     the three instances on PostgreSQL alone
#   scripts/chaos.sh --filter ClusterRedemption   the three instances redeeming single-use tokens alone
#   KOMBO_ARTIFACTS_PATH=/tmp/art scripts/chaos.sh    build into a private artifacts root
#
# The table is also written to artifacts/chaos/results.tsv (tab-separated, one row per scenario run).
# Exits non-zero if a scenario failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

scale=full
filter="Category=Chaos"
while (($# > 0)); do
  case "$1" in
    --fast) scale=fast ;;
    --full) scale=full ;;
    --filter) filter="Category=Chaos&FullyQualifiedName~ChaosTests.$2"; shift ;;
    -h | --help) sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "chaos: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [[ $(id -u) -ne 0 ]]; then
  echo "chaos: run as root: the disk scenario mounts a tmpfs of its own to fill it." >&2
  exit 2
fi

scripts/rabbitmq.sh install
scripts/postgres.sh install

results="$PWD/artifacts/chaos/results.tsv"
mkdir -p "$(dirname "$results")"
rm -f "$results"
export KOMBO_CHAOS_SCALE="$scale" KOMBO_CHAOS_RESULTS="$results"

artifacts=()
if [[ -n "${KOMBO_ARTIFACTS_PATH:-}" ]]; then
  artifacts=(--artifacts-path "$KOMBO_ARTIFACTS_PATH")
fi

started=$SECONDS
set +e
dotnet test tests/Kombo.Worker.ChaosTests -c Release "${artifacts[@]}" \
  --filter "$filter" \
  --results-directory artifacts/chaos \
  --logger "trx;LogFileName=chaos.trx" \
  --logger "console;verbosity=normal" \
  --blame-hang-timeout 30m --blame-hang-dump-type none
status=$?
set -e

printf '\n=== chaos suite (%s scale, %ds, dotnet test exit code %d) ===\n' "$scale" $((SECONDS - started)) "$status"
if [[ -s "$results" ]]; then
  column -t -s $'\t' "$results"
else
  echo "No scenario reported a result (see the test output above)."
  status=1
fi

exit "$status"
