#!/usr/bin/env bash
# Starts (or stops) the PostgreSQL that the test suite runs against, on 127.0.0.1 only.
#   scripts/test-services.sh start   -> prints the INSIGHT_TEST_POSTGRES_URL to use
#   scripts/test-services.sh stop
# Idempotent: a cluster left running by an earlier run is reused; a stale one is restarted.
set -euo pipefail

port=${INSIGHT_TEST_POSTGRES_PORT:-55432}
root=${INSIGHT_TEST_POSTGRES_DIR:-/tmp/insight-recall-test-postgres}
data="$root/data"
url="postgresql+asyncpg://insight:insight-test@127.0.0.1:${port}/insight_test"

pg_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ]; then
    echo "installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$found"
}

as_postgres() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin
  bin=$(pg_bin)
  mkdir -p "$root"
  if [ "$(id -u)" = "0" ]; then chown postgres: "$root"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    rm -f "$data/postmaster.pid"
    as_postgres "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null
  fi
  local psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='insight'")" != "1" ]; then
    "${psql[@]}" -c "CREATE ROLE insight LOGIN PASSWORD 'insight-test' CREATEDB"
  fi
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='insight_test'")" != "1" ]; then
    "${psql[@]}" -c "CREATE DATABASE insight_test OWNER insight"
  fi
  echo "$url"
}

stop() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ]; then
    as_postgres "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
