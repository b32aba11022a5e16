#!/usr/bin/env bash
# Installs (first run) and starts every peer server the tests need, then writes run/all.env,
# the variables the peer tests read. Idempotent. Usage: start.sh [PEER...] (default: all).
source "$(dirname "$0")/common.sh"
peers=("$@")
if [ ${#peers[@]} -eq 0 ]; then
  for f in "$PEERS_DIR"/peer-*.sh; do
    [ -e "$f" ] || continue
    n="$(basename "$f" .sh)"; peers+=("${n#peer-}")
  done
fi
[ ${#peers[@]} -gt 0 ] || { log "no peers defined"; : >"$RUN_DIR/all.env"; exit 0; }
ensure_python
if compgen -G "$PEERS_DIR/package.json" >/dev/null; then ensure_node; fi
for p in "${peers[@]}"; do
  log "starting $p"
  bash "$PEERS_DIR/peer-$p.sh" start || die "peer $p failed to start (logs: $RUN_DIR/$p*.log)"
done
for f in "$RUN_DIR"/*.env; do [ "$(basename "$f")" = all.env ] || grep -v "^#" "$f"; done >"$RUN_DIR/all.env.tmp" 2>/dev/null || true
mv "$RUN_DIR/all.env.tmp" "$RUN_DIR/all.env"
log "peers up: ${peers[*]} (variables in $RUN_DIR/all.env)"
