// Test peer for vault-azure: the OpenID-certified `oidc-provider` (panva) served behind
// Microsoft identity platform v2 URL shapes, plus a small Key Vault stand-in that only
// accepts access tokens this server signed. Started by peer-oidc.sh; binds 127.0.0.1 only.
//
//   <issuer> = http://127.0.0.1:$OIDC_PORT/$OIDC_TENANT
//   GET  /<tenant>/v2.0/.well-known/openid-configuration   discovery (Entra's path)
//   GET  /<tenant>/oauth2/v2.0/authorize                   code + PKCE S256 (required)
//   POST /<tenant>/oauth2/v2.0/token                       authorization_code, refresh_token,
//                                                          client_credentials, device_code
//   POST /<tenant>/oauth2/v2.0/devicecode                  device authorization
//   GET  /<tenant>/discovery/v2.0/keys                     JWKS
//   GET  /<tenant>/interaction/<uid>                       login + consent, approved at once
//   POST /<tenant>/reg                                     dynamic client registration (RFC 7591):
//                                                          tests register a private_key_jwt client
//                                                          with a key they made (certificate and
//                                                          workload identity flows); ids are GUIDs
//   GET  http://127.0.0.1:$KV_PORT/secrets/<name>[/<version>]?api-version=…   (Bearer JWT)
//
// What differs from Entra, on purpose: nobody types a password (the account $OIDC_USER is
// signed in and consents automatically); `prompt=consent` is added to authorization
// requests that ask for offline_access, because oidc-provider (OIDC Core §11) would
// otherwise drop offline_access where Entra issues a refresh token.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const env = process.env;
const OIDC_PORT = Number(env.OIDC_PORT || 18090);
const KV_PORT = Number(env.KV_PORT || 18091);
const TENANT = env.OIDC_TENANT || 'test-tenant';
const PUBLIC_CLIENT = env.OIDC_CLIENT_ID || '3f6a2c1e-7b9d-4e0a-8c5f-1d2e3f4a5b6c';
const DAEMON_CLIENT = env.OIDC_DAEMON_CLIENT_ID || 'b8e4d2a0-5c1f-4a3e-9d7b-6e5f4a3b2c1d';
const DAEMON_SECRET = env.OIDC_DAEMON_SECRET || 'daemon-secret-for-tests-only';
const USER = env.OIDC_USER || 'alice@example.test';
// vault-hashicorp: OpenBao's `oidc` auth method as a confidential relying party of this server
const VAULT_RP_CLIENT = env.OIDC_VAULT_RP_CLIENT_ID || 'vault-refs-openbao-rp';
const VAULT_RP_SECRET = env.OIDC_VAULT_RP_SECRET || 'openbao-rp-secret-for-tests-only';
const HOST = '127.0.0.1';
const RESOURCE = 'https://vault.azure.net';
const ISSUER = `http://${HOST}:${OIDC_PORT}/${TENANT}`;
const MOUNT = `/${TENANT}`;

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: PUBLIC_CLIENT,
      application_type: 'native', // RFC 8252: a loopback redirect matches on any port
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    },
    {
      client_id: DAEMON_CLIENT,
      client_secret: DAEMON_SECRET,
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
    {
      client_id: VAULT_RP_CLIENT,
      client_secret: VAULT_RP_SECRET,
      application_type: 'native', // the loopback callback of `vault login -method=oidc`, any port
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['http://127.0.0.1/oidc/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  scopes: ['openid', 'offline_access', 'profile'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
  routes: {
    authorization: '/oauth2/v2.0/authorize',
    token: '/oauth2/v2.0/token',
    device_authorization: '/oauth2/v2.0/devicecode',
    code_verification: '/oauth2/v2.0/deviceauth',
    jwks: '/discovery/v2.0/keys',
    userinfo: '/oidc/userinfo',
    end_session: '/oauth2/v2.0/logout',
  },
  pkce: { required: () => true },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  ttl: {
    AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, AuthorizationCode: 120,
    DeviceCode: 600, RefreshToken: 86400, Interaction: 600, Session: 86400, Grant: 86400,
  },
  rotateRefreshToken: () => true, // Entra rotates too: the client must keep the newest
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Open registration, for tests that bring their own key (Entra: an app registration
    // with an uploaded certificate or a federated credential). Client ids are GUIDs, as
    // Entra's application ids are.
    registration: { enabled: true, idFactory: () => crypto.randomUUID() },
    deviceFlow: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Entra names the resource in the scope (`https://vault.azure.net/.default`), not in a
      // `resource` parameter: every token is for Key Vault.
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: `${RESOURCE}/.default`,
          audience: RESOURCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: sub, preferred_username: sub }),
  }),
  interactions: { url: (_ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
});
provider.proxy = false;
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

// The "user": signs in as USER and grants whatever the client asked for.
async function approve(req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: USER } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

const oidc = provider.callback();
http.createServer(async (req, res) => {
  try {
    if (!req.url.startsWith(`${MOUNT}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    let path = req.url.slice(MOUNT.length);
    if (path.startsWith('/v2.0/.well-known/')) path = path.replace('/v2.0', '');
    if (req.method === 'GET' && path.startsWith('/oauth2/v2.0/authorize?')) {
      const u = new URL(path, ISSUER);
      const scopes = (u.searchParams.get('scope') || '').split(' ');
      if (scopes.includes('offline_access') && !u.searchParams.has('prompt')) {
        u.searchParams.set('prompt', 'consent');
        path = u.pathname + u.search;
      }
    }
    if (req.method === 'GET' && /^\/interaction\/[^/?]+$/.test(path.split('?')[0])) {
      req.url = path;
      await approve(req, res);
      return;
    }
    req.originalUrl = MOUNT + path; // oidc-provider derives its mount point from this
    req.url = path;
    oidc(req, res);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) {
      res.writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid_request', error_description: String(e.message || e) }));
    }
  }
}).listen(OIDC_PORT, HOST, () => console.log(`oidc-provider: issuer ${ISSUER}`));

// ---- Key Vault stand-in: shapes from the Key Vault REST reference (Get Secret) ----
const now = Math.floor(Date.now() / 1000);
const V1 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const V2 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const secrets = {
  'db-password': { current: V2, enabled: true, versions: { [V1]: 'kv-old-value', [V2]: 'kv-current-value' } },
  'disabled-secret': { current: V1, enabled: false, versions: { [V1]: 'never-served' } },
};
const jwks = createRemoteJWKSet(new URL(`${ISSUER}/discovery/v2.0/keys`));
const kvError = (res, status, code, message, headers = {}) =>
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify({ error: { code, message } }));

http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${HOST}:${KV_PORT}`);
  const challenge = { 'www-authenticate': `Bearer authorization="${ISSUER}", resource="${RESOURCE}"` };
  const m = url.pathname.match(/^\/secrets\/([0-9A-Za-z-]{1,127})(?:\/([0-9a-f]{32})?)?\/?$/);
  if (req.method !== 'GET' || !m) return kvError(res, 400, 'BadParameter', 'Unsupported request.');
  if (!url.searchParams.get('api-version')) {
    return kvError(res, 400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
  }
  const auth = req.headers.authorization || '';
  if (!auth.startsWith('Bearer ')) return kvError(res, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', challenge);
  try {
    await jwtVerify(auth.slice(7), jwks, { issuer: ISSUER, audience: RESOURCE });
  } catch (e) {
    return kvError(res, 401, 'Unauthorized', `AKV10022: Invalid token: ${e.code || 'invalid'}`, challenge);
  }
  const s = secrets[m[1].toLowerCase()];
  const version = m[2] || (s && s.current);
  if (!s || !(version in s.versions)) {
    return kvError(res, 404, 'SecretNotFound', `A secret with (name/id) ${m[1]}${m[2] ? `/${m[2]}` : ''} was not found in this key vault.`);
  }
  if (!s.enabled) {
    return res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({
      error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } },
    }));
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({
    value: s.versions[version],
    id: `http://${HOST}:${KV_PORT}/secrets/${m[1].toLowerCase()}/${version}`,
    attributes: { enabled: true, created: now, updated: now, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
    tags: { env: 'test' },
  }));
}).listen(KV_PORT, HOST, () => console.log(`key vault stand-in: http://${HOST}:${KV_PORT}/secrets/<name>`));
