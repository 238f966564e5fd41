#!/usr/bin/env bash
# A real Network UPS Tools server for the hardware tests, on 127.0.0.1 only:
# the dummy-ups driver plays an APC Smart-UPS 1500 (tests/hardware/fixtures/SMT1500C.dev)
# and upsd serves it on a spare port.
#
#   source .ci/nut.sh
#   nut_install    # apt-get installs nut-server and nut-client, only if upsd is missing
#   nut_start      # exports UPSLIFE_TEST_NUT_URL=nut://user:password@127.0.0.1:<port>/smt1500c
#   nut_stop       # stops both daemons and removes their directory
#
# Everything lives in one temporary directory (configuration, state sockets, pid files,
# logs) pointed at by NUT_CONFPATH / NUT_STATEPATH / NUT_ALTPIDPATH, so nothing under
# /etc/nut is read or written and several runs can live side by side. The daemons run as
# root (`-u root`): the machines that run this are root already, and it spares a chown of
# the state directory. This file is meant to be sourced; it sets no shell options.

NUT_DRIVER_DIR="${NUT_DRIVER_DIR:-/lib/nut}"
NUT_TEST_UPS="${NUT_TEST_UPS:-smt1500c}"
NUT_TEST_USER="${NUT_TEST_USER:-upslife}"
NUT_TEST_PASSWORD="${NUT_TEST_PASSWORD:-upslife-test-password}"

_nut_repo_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

_nut_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

nut_install() {
  if [ -x "$NUT_DRIVER_DIR/upsd" ] && [ -x "$NUT_DRIVER_DIR/dummy-ups" ] && command -v upsc >/dev/null 2>&1; then
    return 0
  fi
  echo "installing nut-server and nut-client"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nut-server nut-client >/dev/null
}

nut_start() {
  local root dir port tries status
  root="$(_nut_repo_root)"
  if [ -n "${NUT_TEST_DIR:-}" ] && [ -d "$NUT_TEST_DIR" ]; then
    nut_stop  # a server from an earlier nut_start in this shell
  fi
  if [ ! -x "$NUT_DRIVER_DIR/upsd" ] || [ ! -x "$NUT_DRIVER_DIR/dummy-ups" ]; then
    echo "nut_start: $NUT_DRIVER_DIR/upsd or dummy-ups is missing; run nut_install first" >&2
    return 1
  fi
  dir="$(mktemp -d -t upslife-nut.XXXXXX)"
  port="$(_nut_free_port)"
  mkdir -p "$dir/state"
  chmod 700 "$dir" "$dir/state"
  cp "$root/tests/hardware/fixtures/SMT1500C.dev" "$dir/SMT1500C.dev"

  cat >"$dir/nut.conf" <<EOF
MODE=standalone
EOF
  cat >"$dir/ups.conf" <<EOF
[$NUT_TEST_UPS]
  driver = dummy-ups
  port = $dir/SMT1500C.dev
  desc = "upslife test double of an APC Smart-UPS 1500"
EOF
  cat >"$dir/upsd.conf" <<EOF
LISTEN 127.0.0.1 $port
EOF
  cat >"$dir/upsd.users" <<EOF
[$NUT_TEST_USER]
  password = $NUT_TEST_PASSWORD
  actions = SET
  instcmds = ALL
  upsmon primary
EOF
  chmod 600 "$dir"/*.conf "$dir/upsd.users"

  NUT_CONFPATH="$dir" NUT_STATEPATH="$dir/state" NUT_ALTPIDPATH="$dir/state" \
    "$NUT_DRIVER_DIR/dummy-ups" -a "$NUT_TEST_UPS" -F -u root >"$dir/driver.log" 2>&1 &
  echo $! >"$dir/driver.pid"
  NUT_CONFPATH="$dir" NUT_STATEPATH="$dir/state" NUT_ALTPIDPATH="$dir/state" \
    "$NUT_DRIVER_DIR/upsd" -F -u root >"$dir/upsd.log" 2>&1 &
  echo $! >"$dir/upsd.pid"
  NUT_TEST_DIR="$dir"
  export NUT_TEST_DIR

  # upsd answers "Data stale" / "Driver not connected" (upsc exits non-zero) and then
  # WAIT until the driver has published its first data: wait for a real status, bounded.
  status=""
  for tries in $(seq 1 100); do
    status="$(upsc "$NUT_TEST_UPS@127.0.0.1:$port" ups.status 2>/dev/null || true)"
    if [ -n "$status" ] && [ "$status" != "WAIT" ]; then
      break
    fi
    status=""
    sleep 0.1
  done
  if [ -z "$status" ]; then
    echo "nut_start: upsd on 127.0.0.1:$port reported no status after $tries tries" >&2
    echo "--- driver.log" >&2
    cat "$dir/driver.log" >&2 || true
    echo "--- upsd.log" >&2
    cat "$dir/upsd.log" >&2 || true
    nut_stop
    return 1
  fi
  UPSLIFE_TEST_NUT_URL="nut://$NUT_TEST_USER:$NUT_TEST_PASSWORD@127.0.0.1:$port/$NUT_TEST_UPS"
  export UPSLIFE_TEST_NUT_URL
  echo "nut (upsd + dummy-ups) on 127.0.0.1:$port, $NUT_TEST_UPS status $status"
}

nut_stop() {
  local dir="${NUT_TEST_DIR:-}" name pid
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    return 0
  fi
  for name in upsd driver; do
    if [ -f "$dir/$name.pid" ]; then
      pid="$(cat "$dir/$name.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
  unset NUT_TEST_DIR UPSLIFE_TEST_NUT_URL
}
