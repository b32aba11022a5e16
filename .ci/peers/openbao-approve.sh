#!/usr/bin/env bash
# Plays the user's browser for a sign-in URL of the local OpenBao (peer-openbao.sh), for
# driving `vaultctl login hashicorp` / `get` in CI, which print `sign-in URL: <url>`.
# The URL is OpenBao's UI authorize page (/ui/vault/[<ns>/]identity/oidc/provider/<name>/authorize);
# a person would log in there. This logs the seeded userpass user in instead, calls the
# provider's API authorize endpoint (/v1/... : JSON {code, state}) with that user's token and
# the same query, and opens redirect_uri?code=&state= (the program's loopback listener).
# Usage: openbao-approve.sh URL [USER PASS]   (default: $VAULT_TEST_BAO_USER / _PASS, or
#        $VAULT_TEST_BAO_NS_USER / _PASS when the URL is in a namespace)
set -euo pipefail
url="${1:?usage: openbao-approve.sh URL [USER PASS]}"
exec python3 - "$url" "${2-}" "${3-}" <<'PY'
import json, os, sys, urllib.parse, urllib.request

url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlsplit(url)
if "/ui/vault/" not in u.path or not u.path.endswith("/authorize"):
    sys.exit(f"openbao-approve: not an OpenBao authorize URL: {u.path}")
api_path = u.path.replace("/ui/vault/", "/v1/", 1)
ns = api_path[len("/v1/"):].split("identity/oidc/provider/")[0].strip("/")
env = os.environ
if not user:
    user = env["VAULT_TEST_BAO_NS_USER" if ns else "VAULT_TEST_BAO_USER"]
    password = env["VAULT_TEST_BAO_NS_PASS" if ns else "VAULT_TEST_BAO_PASS"]
origin = f"{u.scheme}://{u.netloc}"

def call(req):
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)

login = urllib.request.Request(
    f"{origin}/v1/auth/userpass/login/{user}",
    data=json.dumps({"password": password}).encode(),
    headers={"Content-Type": "application/json", **({"X-Vault-Namespace": ns} if ns else {})},
)
token = call(login)["auth"]["client_token"]
# the API path already holds the namespace: no X-Vault-Namespace header here
answer = call(urllib.request.Request(f"{origin}{api_path}?{u.query}", headers={"X-Vault-Token": token}))
query = dict(urllib.parse.parse_qsl(u.query))
back = query["redirect_uri"] + "?" + urllib.parse.urlencode({"code": answer["code"], "state": answer["state"]})
with urllib.request.urlopen(back, timeout=10) as r:
    r.read()
PY
