#!/usr/bin/env bash
# moto (AWS emulator) for the vault-aws end-to-end tests. Usage: peer-moto.sh start|stop
#
# Two servers on 127.0.0.1, both in server mode:
#   $MOTO_PORT (15000)      SigV4 + IAM enforcement ON after seeding: wrong keys and missing
#                           permissions fail as on AWS.
#   $MOTO_MFA_PORT (15001)  enforcement OFF: moto's GetSessionToken returns fixed example keys
#                           that no IAM user owns, so an MFA session can only be used here.
# Seeding runs with enforcement off (INITIAL_NO_AUTH_ACTION_COUNT unset = infinite), then
# `POST /moto-api/reset-auth` with the raw body `0` (Content-Type text/plain: with a form type
# moto answers 500) turns it on. Writes $RUN_DIR/moto.env (VAULT_TEST_AWS_*). Idempotent: live
# servers with an env file are reused (the tests only read).
source "$(dirname "$0")/common.sh"

MOTO_PORT="${MOTO_PORT:-15000}"
MOTO_MFA_PORT="${MOTO_MFA_PORT:-15001}"
ENV_FILE="$RUN_DIR/moto.env"

ep() { printf 'http://127.0.0.1:%s' "$1"; }
set_auth() { curl -sf -X POST -H 'Content-Type: text/plain' --data-binary "$2" "$(ep "$1")/moto-api/reset-auth" >/dev/null; }
alive() { pid_alive "$1" && curl -sf -o /dev/null "$(ep "$2")/moto-api/"; }

start_one() { # NAME PORT
  local name="$1" port="$2"
  if alive "$name" "$port"; then return 0; fi
  port_busy "$port" && die "port $port is taken by a process this script did not start"
  rm -f "$ENV_FILE"
  start_bg "$name" env -u INITIAL_NO_AUTH_ACTION_COUNT "$VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$port"
}

start() {
  if alive moto "$MOTO_PORT" && alive moto-mfa "$MOTO_MFA_PORT" && [ -s "$ENV_FILE" ]; then
    log "moto already running on $MOTO_PORT (enforced) and $MOTO_MFA_PORT (MFA)"
    return 0
  fi
  start_one moto "$MOTO_PORT"
  start_one moto-mfa "$MOTO_MFA_PORT"
  wait_http "$(ep "$MOTO_PORT")/moto-api/" 300 0.05 || { tail -20 "$RUN_DIR/moto.log" >&2; die "moto did not start"; }
  wait_http "$(ep "$MOTO_MFA_PORT")/moto-api/" 300 0.05 || { tail -20 "$RUN_DIR/moto-mfa.log" >&2; die "moto (MFA) did not start"; }
  # A fresh state for a reseed of servers that were already up.
  for port in "$MOTO_PORT" "$MOTO_MFA_PORT"; do
    set_auth "$port" inf
    curl -sf -X POST "$(ep "$port")/moto-api/reset" >/dev/null
  done
  "$VENV/bin/python" "$PEERS_DIR/moto-seed.py" "$(ep "$MOTO_PORT")" "$(ep "$MOTO_MFA_PORT")" "$ENV_FILE.tmp"
  set_auth "$MOTO_PORT" 0
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "moto up: $(ep "$MOTO_PORT") (SigV4 + IAM enforced), $(ep "$MOTO_MFA_PORT") (MFA, not enforced)"
}

stop() {
  stop_bg moto-mfa
  stop_bg moto
}

case "${1-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
