#!/usr/bin/env bash
# Plays the user's browser for a sign-in URL of the local oidc peer (peer-oidc.sh): follows
# the identity provider's redirects with a cookie jar (login and consent are approved by the
# peer) until a redirect leaves the provider, then opens that one: the program's loopback
# listener. For driving `vaultctl login azure` / `get` in CI, which print `sign-in URL: <url>`.
# Usage: oidc-approve.sh URL
set -euo pipefail
url="${1:?usage: oidc-approve.sh URL}"
origin="$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$url")"
jar="$(mktemp)"; trap 'rm -f "$jar"' EXIT
for _ in $(seq 20); do
  loc="$(curl -s -o /dev/null -c "$jar" -b "$jar" -w '%{redirect_url}' "$url")"
  [ -n "$loc" ] || { echo "oidc-approve: no redirect from ${url%%\?*}" >&2; exit 1; }
  case "$loc" in
    "$origin"/*) url="$loc" ;;
    *) curl -s -o /dev/null "$loc"; exit 0 ;;
  esac
done
echo "oidc-approve: too many redirects" >&2
exit 1
