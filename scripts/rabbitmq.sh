#!/usr/bin/env bash
# The developer's RabbitMQ node (the one scripts/run.sh uses), from Debian's rabbitmq-server package: no Docker, no
# system service. Tests never use it: each test run starts nodes of its own (tests/Kombo.Testing/BrokerNode.cs, free
# ports, a watchdog, restarts and kills), and the scripts only call `install` before they run the tests.
#
#   scripts/rabbitmq.sh install                      apt-get install rabbitmq-server if it is missing (sudo when not root)
#   scripts/rabbitmq.sh start  [--port P]            start node kombo@localhost on AMQP port P (default 5672)
#   scripts/rabbitmq.sh stop                         stop it
#   scripts/rabbitmq.sh status [--port P]            is it up, does AMQP answer, its queues
#
# Distribution port AMQP+20000; data and logs under ./.run/rabbitmq. Users: guest/guest (localhost only). The node
# reads only its own config files, never /etc/rabbitmq.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly RMQ_LIB_BIN=/usr/lib/rabbitmq/bin

readonly NODE=kombo@localhost
readonly DIR="$REPO_ROOT/.run/rabbitmq"
readonly TIMEOUT=60
PORT=5672
DIST_PORT=

say() { printf 'rabbitmq: %s\n' "$*"; }
die() { printf 'rabbitmq: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

installed() { [[ -x /usr/sbin/rabbitmq-server || -x "$RMQ_LIB_BIN/rabbitmq-server" ]] || command -v rabbitmq-server >/dev/null 2>&1; }

require_installed() {
  installed || die "rabbitmq-server is not installed. Run: scripts/rabbitmq.sh install"
}

# As root, Debian's wrappers in /usr/sbin switch to the rabbitmq user (whose home holds the Erlang cookie).
# Anyone else runs the package's scripts directly, with HOME pointing at the node's directory for the cookie.
server_cmd() { if is_root; then echo /usr/sbin/rabbitmq-server; else echo "$RMQ_LIB_BIN/rabbitmq-server"; fi; }
ctl_cmd() { if is_root; then echo /usr/sbin/rabbitmqctl; else echo "$RMQ_LIB_BIN/rabbitmqctl"; fi; }

ctl() {
  if is_root; then
    "$(ctl_cmd)" -n "$NODE" "$@"
  else
    HOME="$DIR" "$(ctl_cmd)" -n "$NODE" "$@"
  fi
}

port_open() {
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# True when an AMQP 0-9-1 broker answers: send the protocol header, expect a method frame (type 1, Connection.Start).
amqp_answers() {
  local first
  first="$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf 'AMQP\\000\\000\\011\\001' >&3; head -c 1 <&3" 2>/dev/null \
    | od -An -tu1 | tr -d ' ')" || true
  [[ "$first" == 1 ]]
}

node_registered() {
  # epmd knows every node on this host that is up (or booting); cheaper than an Erlang CLI round trip.
  local short="${NODE%@*}"
  epmd -names 2>/dev/null | grep -q "^name $short at port "
}

log_file() { echo "$DIR/log/$NODE.log"; }

print_log_tail() {
  # Boot failures (a bad setting, a port in use) are told on the console; the node's log has the rest.
  if [[ -f "$DIR/console.log" ]]; then
    printf -- '----- last lines of %s -----\n' "$DIR/console.log" >&2
    tail -n 80 "$DIR/console.log" >&2
  fi
  if [[ -f "$(log_file)" ]]; then
    printf -- '----- last lines of %s -----\n' "$(log_file)" >&2
    tail -n 30 "$(log_file)" >&2
  fi
}

parse_opts() {
  while (($#)); do
    case "$1" in
      --port) PORT="${2:?--port needs a value}"; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option '$1' (see scripts/rabbitmq.sh --help)" ;;
    esac
  done
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number"
  DIST_PORT=$((PORT + 20000))
}

cmd_install() {
  if installed; then
    say "rabbitmq-server is installed ($(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo 'version unknown'))"
    return
  fi
  local sudo=()
  if ! is_root; then
    command -v sudo >/dev/null 2>&1 \
      || die "rabbitmq-server is missing and installing it needs root: run 'apt-get install rabbitmq-server' as root"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install RabbitMQ 3.x yourself (or use docker-compose.yml)"
  say "installing rabbitmq-server with apt-get ..."
  local log
  log="$(mktemp)"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
    || ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold rabbitmq-server >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get could not install rabbitmq-server"
  fi
  rm -f "$log"
  say "installed rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server)"
}

write_node_files() {
  mkdir -p "$DIR/mnesia" "$DIR/log"
  # No plugins: the management UI is not needed and costs seconds at boot.
  [[ -f "$DIR/enabled_plugins" ]] || echo '[].' >"$DIR/enabled_plugins"
  cat >"$DIR/rabbitmq.conf" <<'EOF'
# Written by scripts/rabbitmq.sh. guest/guest may connect from localhost only (RabbitMQ's default).
loopback_users.guest = true
log.file.level = info
log.console = false
EOF
  : >"$DIR/rabbitmq-env.conf"
  # Debian's wrapper runs the node as the rabbitmq user, which must own its data and log directories.
  if is_root; then
    chown -R rabbitmq:rabbitmq "$DIR"
    runuser -u rabbitmq -- test -w "$DIR/mnesia" \
      || die "user rabbitmq cannot write to $DIR (a parent directory is not traversable?). Run the script from a clone the rabbitmq user can reach."
  fi
}

node_env() {
  export RABBITMQ_NODENAME="$NODE"
  export RABBITMQ_NODE_PORT="$PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
  export RABBITMQ_LOG_BASE="$DIR/log"
  export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"
  export ERL_CRASH_DUMP="$DIR/erl_crash.dump"
  is_root || export HOME="$DIR"
}

wait_for_amqp() {
  local pid="${1:-}" waited=0
  until amqp_answers "$PORT"; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      print_log_tail
      die "node $NODE exited during start-up (logs above; full logs in $DIR/log)"
    fi
    if ((waited >= TIMEOUT * 2)); then
      print_log_tail
      die "node $NODE did not accept AMQP connections on port $PORT within ${TIMEOUT}s (logs above)"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
}

cmd_start() {
  require_installed
  if amqp_answers "$PORT"; then
    say "a broker already answers on localhost:$PORT; nothing to start"
    return
  fi
  if port_open "$PORT"; then
    die "port $PORT is in use by something that is not an AMQP broker; pick another with --port"
  fi
  if node_registered; then
    say "node $NODE is already up but nothing answers on port $PORT yet (still booting? started with another --port?); waiting up to ${TIMEOUT}s"
    wait_for_amqp
    say "ready: amqp://guest:guest@localhost:$PORT/"
    return
  fi

  write_node_files
  local started=$SECONDS
  say "starting node $NODE (AMQP port $PORT, distribution port $DIST_PORT, data in $DIR)"
  (
    node_env
    # setsid: the node outlives this script and ignores the terminal's Ctrl-C; stop it with 'stop'.
    exec setsid "$(server_cmd)" >"$DIR/console.log" 2>&1 </dev/null
  ) &
  local pid=$!
  wait_for_amqp "$pid"
  say "ready after $((SECONDS - started))s: amqp://guest:guest@localhost:$PORT/ (logs: $(log_file))"
  say "stop it with: scripts/rabbitmq.sh stop"
}

cmd_stop() {
  require_installed
  if ! node_registered; then
    say "node $NODE is not running"
    return
  fi
  say "stopping node $NODE ..."
  local pid_file="$DIR/mnesia/$NODE.pid" pid="" waited=0
  [[ -r "$pid_file" ]] && pid="$(cat "$pid_file")"
  ctl stop >/dev/null
  # The node leaves epmd first and halts its Erlang VM a few seconds later; wait for both.
  while node_registered || { [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }; do
    ((waited < 60)) || die "node $NODE did not stop within 30s"
    sleep 0.5
    waited=$((waited + 1))
  done
  say "stopped"
}

cmd_status() {
  require_installed
  local rc=0
  if node_registered; then
    say "node $NODE: running"
  else
    say "node $NODE: not running"
    rc=3
  fi
  if amqp_answers "$PORT"; then
    say "AMQP: a broker answers on localhost:$PORT"
  else
    say "AMQP: nothing answers on localhost:$PORT"
    rc=3
  fi
  if ((rc == 0)); then
    say "queues (name, messages, consumers):"
    ctl -q list_queues name messages consumers 2>/dev/null | sed "s/^/  /" || true
  fi
  return "$rc"
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    install) cmd_install ;;
    start) parse_opts "$@"; cmd_start ;;
    stop) parse_opts "$@"; cmd_stop ;;
    status) parse_opts "$@"; cmd_status ;;
    -h|--help|help) usage ;;
    "") usage; exit 2 ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
