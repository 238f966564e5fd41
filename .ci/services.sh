#!/usr/bin/env bash
# Start and stop the real servers the tests talk to, all on 127.0.0.1 only.
#   source .ci/services.sh && services_start   # exports UPSLIFE_TEST_POSTGRES_DSN, ...
#   services_stop
# Used by .ci/run; usable by hand for a local run of the whole suite.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

postgres_start() {
  SERVICES_DIR="${SERVICES_DIR:-$(mktemp -d)}"
  export SERVICES_DIR
  local pgdata="$SERVICES_DIR/pgdata" port
  port="$(_free_port)"
  mkdir -p "$pgdata"
  chown postgres:postgres "$SERVICES_DIR" "$pgdata"
  chmod 755 "$SERVICES_DIR"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$pgdata" -A trust -U postgres --no-sync >/dev/null
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$pgdata" -l "$SERVICES_DIR/postgres.log" -w \
    -o "-p $port -k $SERVICES_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null
  export UPSLIFE_TEST_POSTGRES_DSN="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "postgres on 127.0.0.1:$port"
}

postgres_stop() {
  if [ -n "${SERVICES_DIR:-}" ] && [ -d "$SERVICES_DIR/pgdata" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pgdata" -m immediate stop >/dev/null 2>&1 || true
  fi
}

_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "$_here/nut.sh" ]; then
  # shellcheck source=.ci/nut.sh
  source "$_here/nut.sh"
fi

if [ -f "$_here/browser.sh" ]; then
  # shellcheck source=.ci/browser.sh
  source "$_here/browser.sh"
fi

services_install() {
  if declare -F nut_install >/dev/null; then nut_install; fi
  if declare -F browser_install >/dev/null; then browser_install; fi
}

services_start() {
  postgres_start
  if declare -F nut_start >/dev/null; then nut_start; fi
}

services_stop() {
  if declare -F nut_stop >/dev/null; then nut_stop || true; fi
  postgres_stop
  if [ -n "${SERVICES_DIR:-}" ]; then rm -rf "$SERVICES_DIR"; fi
}
