#!/usr/bin/env bash
# The Microsoft sign-in peer of vault-azure: npm oidc-provider behind Entra-shaped URLs plus
# a Key Vault stand-in (.ci/peers/oidc-server.mjs). Usage: peer-oidc.sh start|stop.
# Idempotent; binds 127.0.0.1:$OIDC_PORT (18090) and :$KV_PORT (18091); writes run/oidc.env.
source "$(dirname "$0")/common.sh"
OIDC_PORT="${OIDC_PORT:-18090}"
KV_PORT="${KV_PORT:-18091}"
TENANT=test-tenant
CLIENT_ID=3f6a2c1e-7b9d-4e0a-8c5f-1d2e3f4a5b6c
DAEMON_ID=b8e4d2a0-5c1f-4a3e-9d7b-6e5f4a3b2c1d
DAEMON_SECRET=daemon-secret-for-tests-only
DISCOVERY="http://127.0.0.1:$OIDC_PORT/$TENANT/v2.0/.well-known/openid-configuration"

case "${1:-}" in
  start)
    if pid_alive oidc && curl -sf -o /dev/null "$DISCOVERY"; then
      log "oidc already running (pid $(cat "$RUN_DIR/oidc.pid"))"
    else
      stop_bg oidc
      for p in "$OIDC_PORT" "$KV_PORT"; do
        port_busy "$p" && die "port $p is taken by a process this script did not start"
      done
      ensure_node
      cp "$PEERS_DIR/oidc-server.mjs" "$NODE_DIR/oidc-server.mjs"
      # Run from $NODE_DIR so that `import 'oidc-provider'` resolves to its node_modules.
      OIDC_PORT="$OIDC_PORT" KV_PORT="$KV_PORT" OIDC_TENANT="$TENANT" OIDC_CLIENT_ID="$CLIENT_ID" \
        OIDC_DAEMON_CLIENT_ID="$DAEMON_ID" OIDC_DAEMON_SECRET="$DAEMON_SECRET" \
        start_bg oidc node "$NODE_DIR/oidc-server.mjs"
      wait_http "$DISCOVERY" 200 0.05 || { tail -20 "$RUN_DIR/oidc.log" >&2; die "oidc-provider did not start"; }
      log "oidc-provider started (pid $(cat "$RUN_DIR/oidc.pid"))"
    fi
    cat >"$RUN_DIR/oidc.env" <<ENV
# written by peer-oidc.sh
VAULT_TEST_AZURE_AUTHORITY=http://127.0.0.1:$OIDC_PORT
VAULT_TEST_AZURE_TENANT=$TENANT
VAULT_TEST_AZURE_CLIENT_ID=$CLIENT_ID
VAULT_TEST_AZURE_DAEMON_CLIENT_ID=$DAEMON_ID
VAULT_TEST_AZURE_DAEMON_SECRET=$DAEMON_SECRET
VAULT_TEST_AZURE_VAULT_HOST=127.0.0.1:$KV_PORT
VAULT_TEST_AZURE_SECRET_ID=http://127.0.0.1:$KV_PORT/secrets/db-password
VAULT_TEST_AZURE_SECRET_VALUE=kv-current-value
VAULT_TEST_AZURE_SECRET_V1_ID=http://127.0.0.1:$KV_PORT/secrets/db-password/0f1e2d3c4b5a69788796a5b4c3d2e1f0
VAULT_TEST_AZURE_SECRET_V1_VALUE=kv-old-value
VAULT_TEST_AZURE_DISABLED_ID=http://127.0.0.1:$KV_PORT/secrets/disabled-secret
VAULT_TEST_AZURE_MISSING_ID=http://127.0.0.1:$KV_PORT/secrets/no-such-secret
VAULT_TEST_OIDC_ISSUER=http://127.0.0.1:$OIDC_PORT/$TENANT
VAULT_TEST_OIDC_VAULT_RP_CLIENT_ID=vault-refs-openbao-rp
VAULT_TEST_OIDC_VAULT_RP_SECRET=openbao-rp-secret-for-tests-only
ENV
    ;;
  stop)
    stop_bg oidc
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
