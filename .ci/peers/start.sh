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
# Only the env files of the peers started now: a leftover of an earlier run must not leak in.
for p in "${peers[@]}"; do
  for f in "$RUN_DIR/$p.env" "$RUN_DIR/$p"-*.env; do
    [ -f "$f" ] && grep -v '^#' "$f"
  done
done >"$RUN_DIR/all.env.tmp" || true
mv "$RUN_DIR/all.env.tmp" "$RUN_DIR/all.env"
log "peers up: ${peers[*]} (variables in $RUN_DIR/all.env)"
