#!/usr/bin/env bash
# Stops the peer servers started by start.sh (by pid file only).
source "$(dirname "$0")/common.sh"
for f in "$PEERS_DIR"/peer-*.sh; do
  [ -e "$f" ] || continue
  bash "$f" stop || true
done
rm -f "$RUN_DIR/all.env"
