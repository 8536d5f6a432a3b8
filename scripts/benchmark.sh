#!/usr/bin/env bash
# The benchmark of docs/benchmark.md: starts its own RabbitMQ node (free ports, never your broker on 5672), the Kombo
# emulator and the Release worker as separate processes on 127.0.0.1, runs the workloads and stops what it started.
# Progress goes to stderr; one JSON line per run and, for several runs, a Markdown table of medians go to stdout
# (the JSON lines are also appended to artifacts/benchmark/results.jsonl, or under KOMBO_ARTIFACTS_PATH).
#
#   scripts/benchmark.sh                                     --all: W1 L=0, W1 L=50, W2, W1 bypass, W1 idle; 3 runs each
#   scripts/benchmark.sh --workload W1 --latency 0 --n 20000 --runs 3
#   scripts/benchmark.sh --all --warmup 4000                 each run on a worker that has already handled 4,000 commands
#   scripts/benchmark.sh --set Outbox__PublishLanes=32       any worker setting, as an environment variable
#   scripts/benchmark.sh --storage postgresql --instances 3  3 workers on one PostgreSQL database of the run's own
#   scripts/benchmark.sh --storage-matrix --n 4000           W1 L=0 and L=50 on SQLite x1, PostgreSQL x1 and x3, in rounds
#   scripts/benchmark.sh --help                              every option
#   KOMBO_ARTIFACTS_PATH=/tmp/art scripts/benchmark.sh       build into a private artifacts root
#
# About 10 minutes for --all on 2 cores. Exits non-zero if a run lost an event.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

artifacts="${KOMBO_ARTIFACTS_PATH:-$PWD/artifacts}"
results="$artifacts/benchmark/results.jsonl"
(($# > 0)) || set -- --all

if [[ " $* " != *" --help "* && " $* " != *" -h "* ]]; then
  scripts/rabbitmq.sh install >&2
  if [[ " $* " == *" --storage postgres"* || " $* " == *" --storage-matrix "* ]]; then
    scripts/postgres.sh install >&2
  fi
fi

echo "benchmark: building tests/Kombo.Benchmark (Release) into $artifacts ..." >&2
dotnet build tests/Kombo.Benchmark -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
mkdir -p "$(dirname "$results")"

# The benchmark builds the worker and the emulator into the same artifacts root.
exec dotnet "$artifacts/bin/Kombo.Benchmark/release/Kombo.Benchmark.dll" --artifacts-path "$artifacts" --json-out "$results" "$@"
