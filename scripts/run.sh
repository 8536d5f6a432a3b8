#!/usr/bin/env bash
# Runs the worker: RabbitMQ on localhost:5672 (installed and started if needed), the Kombo emulator unless you bring
# a real Kombo key, then the worker in the foreground. Ctrl-C stops the worker and the emulator; the broker keeps
# running (stop it with scripts/rabbitmq.sh stop).
#
#   scripts/run.sh                                   against the emulator on http://127.0.0.1:5080
#   Kombo__ApiKey=... scripts/run.sh                 against Kombo itself (Kombo__BaseUrl defaults to appsettings.json)
#
# Other settings come from appsettings.json and environment variables (RabbitMq__Host, RabbitMq__Port, ...).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly EMULATOR_URL=http://127.0.0.1:5080
readonly WEBHOOK_URL=http://127.0.0.1:8082/kombo/webhooks
readonly RUN_DIR=.run

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf 'run: %s\n' "$*"; }
die() { printf 'run: error: %s\n' "$*" >&2; exit 1; }

# 200 from GET url; curl when there is one, bash's /dev/tcp otherwise (a fresh Debian has no curl).
http_ok() {
  local url="$1"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 3 "$url" 2>/dev/null
    return
  fi
  local rest="${url#http://}"
  local hostport="${rest%%/*}" path="/${rest#*/}"
  timeout 3 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport#*:}
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' '$path' '$hostport' >&3
    head -n 1 <&3" 2>/dev/null | grep -q ' 200 '
}

emulator_pid=""
worker_pid=""
local_broker=""

# shellcheck disable=SC2317  # stop_group and cleanup run from the EXIT trap.
stop_group() {
  local pid="$1" name="$2" waited=0
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  say "stopping the $name"
  kill -TERM -- "-$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= 30)); then
      kill -KILL -- "-$pid" 2>/dev/null || true
      break
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

# shellcheck disable=SC2317
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_group "$worker_pid" worker
  stop_group "$emulator_pid" emulator
  if [[ -n "$local_broker" ]]; then
    say "RabbitMQ is still running on localhost:${RabbitMq__Port:-5672}; stop it with: scripts/rabbitmq.sh stop"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RUN_DIR"
scripts/rabbitmq.sh install
if [[ -z "${RabbitMq__Host:-}" || "${RabbitMq__Host}" == localhost || "${RabbitMq__Host}" == 127.0.0.1 ]]; then
  scripts/rabbitmq.sh start --port "${RabbitMq__Port:-5672}"
  local_broker=1
else
  say "using the RabbitMQ broker at ${RabbitMq__Host}:${RabbitMq__Port:-5672}"
fi

if [[ -z "${Kombo__ApiKey:-}" ]]; then
  if http_ok "$EMULATOR_URL/emulator/stats"; then
    say "a Kombo emulator already answers on $EMULATOR_URL; using it (its webhooks are its own settings' business)"
  else
    say "no Kombo__ApiKey set: starting the Kombo emulator on $EMULATOR_URL (log: $RUN_DIR/emulator.log)"
    # The emulator signs its webhooks to the worker with a secret made for this run only (never printed).
    webhook_secret="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    export Kombo__WebhookSecret="$webhook_secret" Webhooks__Urls="${WEBHOOK_URL%/kombo/webhooks}"
    # Its own process group, so stopping it also stops the app 'dotnet run' started.
    Emulator__WebhookUrl="$WEBHOOK_URL" Emulator__WebhookSecret="$webhook_secret" \
      setsid dotnet run --project src/Kombo.Emulator -c Release -- --urls "$EMULATOR_URL" >"$RUN_DIR/emulator.log" 2>&1 </dev/null &
    emulator_pid=$!
    waited=0
    until http_ok "$EMULATOR_URL/emulator/stats"; do
      if ! kill -0 "$emulator_pid" 2>/dev/null; then
        tail -n 40 "$RUN_DIR/emulator.log" >&2
        die "the emulator exited before it answered (log above)"
      fi
      if ((waited >= 360)); then
        tail -n 40 "$RUN_DIR/emulator.log" >&2
        die "the emulator did not answer on $EMULATOR_URL within 180s (log above)"
      fi
      sleep 0.5
      waited=$((waited + 1))
    done
    say "emulator ready; it delivers its signed webhooks to $WEBHOOK_URL"
  fi
  export Kombo__BaseUrl="$EMULATOR_URL/v1/"
  export Kombo__ApiKey=emulator-key
else
  say "using Kombo at ${Kombo__BaseUrl:-the BaseUrl in appsettings.json} with the key from Kombo__ApiKey"
  if [[ -n "${Kombo__WebhookSecret:-}" ]]; then
    say "webhooks on: register ${Webhooks__Urls:-http://127.0.0.1:8082}/kombo/webhooks (behind TLS) with Kombo"
  fi
fi

say "starting the worker (Ctrl-C to stop)"
# Its own process group too: Ctrl-C reaches this script, which stops the worker gracefully with SIGTERM.
setsid dotnet run --project src/Kombo.Worker -c Release </dev/null &
worker_pid=$!
status=0
wait "$worker_pid" || status=$?
worker_pid=""
say "the worker exited with code $status"
exit "$status"
