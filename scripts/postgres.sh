#!/usr/bin/env bash
# PostgreSQL from Debian's postgresql package, for the tests that need a real server (tests/Kombo.Testing's
# PostgresNode starts a private one per test run): no Docker, no system service, no cluster of the package's own.
#
#   scripts/postgres.sh install   apt-get install postgresql if its binaries are missing; prints their directory
#   scripts/postgres.sh bin       prints the binaries' directory (e.g. /usr/lib/postgresql/15/bin), fails if missing
set -euo pipefail

say() { printf 'postgres: %s\n' "$*"; }
die() { printf 'postgres: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# The newest installed major version's directory; PostgresNode looks in the same places.
bin_dir() {
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
    echo "$dir"
    return 0
  fi
  dir="$(command -v initdb 2>/dev/null || true)"
  if [[ -n "$dir" ]]; then
    dirname "$dir"
    return 0
  fi
  return 1
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "installing needs root or sudo: $*"
  fi
}

install() {
  local dir
  if dir="$(bin_dir)"; then
    say "already installed: $dir"
    return 0
  fi

  say "installing postgresql with apt-get"
  # The package creates and starts a cluster of its own on 5432 where a service manager runs; the tests never use it,
  # and in a container without one nothing starts.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
  dir="$(bin_dir)" || die "apt-get installed postgresql, but no initdb/pg_ctl/postgres under /usr/lib/postgresql/*/bin"
  getent passwd postgres >/dev/null || die "the postgresql package did not create the postgres user"
  say "installed: $dir"
}

case "${1:-}" in
  install) install ;;
  bin) bin_dir || die "PostgreSQL is not installed. Run: scripts/postgres.sh install" ;;
  -h|--help|help|"") usage ;;
  *) usage >&2; exit 2 ;;
esac
