//! The setup tool's logic (the `hashicorp-setup` example is a thin CLI over it): what a Vault
//! admin would otherwise type, through the HTTP API, so that users can then sign in with
//! nothing but the values it prints.
//!
//! Steps, in the namespace `VAULT_NAMESPACE` (header, never a path prefix):
//!
//! 1. `POST identity/oidc/client/<client>`: a public client (PKCE), `assignments=allow_all`,
//!    the loopback redirect URIs; then `GET` it for its `client_id` (an update keeps the id).
//! 2. `POST identity/oidc/provider/<client>` with the cluster URL as issuer and the client id
//!    allowed (client ids already allowed are kept); then `GET` it for the issuer.
//! 3. `POST sys/auth/<jwt path> {type: jwt}` (already enabled is fine), then
//!    `POST auth/<jwt path>/config` with the provider's discovery URL and the default role.
//!    The provider must exist first: Vault fetches the discovery document right away.
//! 4. `PUT sys/policies/acl/<policy>`: read and list everything but `sys/` and `auth/`.
//! 5. `POST auth/<jwt path>/role/<role>`: `role_type=jwt`, `bound_audiences=<client id>`,
//!    `user_claim=sub`, the policy.
//!
//! Every step is idempotent, so a rerun is safe. The least the admin token needs is
//! [`admin_policy`] (`sudo` on `sys/auth/<jwt path>` is what enabling an auth method asks).

use std::fmt;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use vault_core::{Environment, Error, ErrorKind};

use crate::address::VaultAddress;
use crate::defaults;
use crate::http::{self, vault_errors, VaultApi};
use crate::namespace::Namespace;
use crate::redirect::LoopbackUri;
use crate::PROVIDER_ID;
use vault_core::RetryPolicy;

/// Everything the setup needs.
#[derive(Clone)]
pub struct SetupConfig {
    /// The cluster URL, used as the OIDC provider's issuer (what users' browsers reach).
    pub cluster_url: VaultAddress,
    /// Where the API calls go (`VAULT_ADDR`; default: the cluster URL).
    pub api_address: VaultAddress,
    /// The admin token (`VAULT_TOKEN`).
    pub token: SecretString,
    /// The namespace to set up in (`VAULT_NAMESPACE`; default: root).
    pub namespace: Namespace,
    /// Name of the OIDC client and provider (`OIDC_CLIENT_NAME`).
    pub client_name: String,
    /// Loopback redirect URIs of the client (`REDIRECT_URI`, comma-separated).
    pub redirect_uris: Vec<String>,
    /// Mount path of the JWT auth method (`JWT_AUTH_PATH`).
    pub jwt_auth_path: String,
    /// The JWT role (`OIDC_ROLE`).
    pub role: String,
    /// The read policy's name (`POLICY_NAME`).
    pub policy_name: String,
    /// The read policy's HCL text (`POLICY_FILE` in the CLI).
    pub policy_text: String,
}

impl fmt::Debug for SetupConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupConfig")
            .field("cluster_url", &self.cluster_url)
            .field("api_address", &self.api_address)
            .field("token", &"[redacted]")
            .field("namespace", &self.namespace)
            .field("client_name", &self.client_name)
            .field("redirect_uris", &self.redirect_uris)
            .field("jwt_auth_path", &self.jwt_auth_path)
            .field("role", &self.role)
            .field("policy_name", &self.policy_name)
            .finish_non_exhaustive()
    }
}

fn cfg_err(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidConfig, message).with_provider(PROVIDER_ID)
}

fn name(what: &str, v: &str, slashes: bool) -> Result<String, Error> {
    let v = v.trim().trim_matches('/');
    let ok = !v.is_empty()
        && v.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || (slashes && c == '/')
        });
    if ok {
        Ok(v.to_owned())
    } else {
        Err(cfg_err(format!(
            "{what} `{v}` is not a valid name (A-Z a-z 0-9 _ - .)"
        )))
    }
}

impl SetupConfig {
    /// The defaults of this project for `cluster_url` and `token`.
    pub fn new(cluster_url: &str, token: SecretString) -> Result<Self, Error> {
        let cluster =
            VaultAddress::parse(cluster_url).map_err(|e| cfg_err(format!("cluster URL: {e}")))?;
        Ok(SetupConfig {
            api_address: cluster.clone(),
            cluster_url: cluster,
            token,
            namespace: Namespace::root(),
            client_name: defaults::CLIENT_NAME.into(),
            redirect_uris: vec![
                defaults::REDIRECT_URI.into(),
                defaults::FALLBACK_REDIRECT_URI.into(),
            ],
            jwt_auth_path: defaults::JWT_AUTH_PATH.into(),
            role: defaults::ROLE.into(),
            policy_name: defaults::POLICY_NAME.into(),
            policy_text: defaults::POLICY_TEXT.into(),
        })
    }

    /// From the environment: `VAULT_TOKEN` (required), `VAULT_ADDR`, `VAULT_NAMESPACE`,
    /// `OIDC_CLIENT_NAME`, `REDIRECT_URI`, `JWT_AUTH_PATH`, `OIDC_ROLE`, `POLICY_NAME` (the
    /// policy text is left at its default: the CLI reads `POLICY_FILE`).
    pub fn from_env(cluster_url: &str, env: &dyn Environment) -> Result<Self, Error> {
        let var = |k: &str| {
            env.var(k)
                .map(|v| v.expose_secret().trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let token = env
            .var("VAULT_TOKEN")
            .filter(|t| !t.expose_secret().trim().is_empty())
            .ok_or_else(|| cfg_err("VAULT_TOKEN is not set: give an admin token (see --help for the policy it needs)"))?;
        let mut c = SetupConfig::new(cluster_url, token)?;
        if let Some(a) = var("VAULT_ADDR") {
            c.api_address =
                VaultAddress::parse(&a).map_err(|e| cfg_err(format!("VAULT_ADDR: {e}")))?;
        }
        if let Some(ns) = var("VAULT_NAMESPACE") {
            c.namespace =
                Namespace::parse(&ns).map_err(|e| cfg_err(format!("VAULT_NAMESPACE: {e}")))?;
        }
        if let Some(v) = var("OIDC_CLIENT_NAME") {
            c.client_name = name("OIDC_CLIENT_NAME", &v, false)?;
        }
        if let Some(v) = var("REDIRECT_URI") {
            c.redirect_uris = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = var("JWT_AUTH_PATH") {
            c.jwt_auth_path = name("JWT_AUTH_PATH", &v, true)?;
        }
        if let Some(v) = var("OIDC_ROLE") {
            c.role = name("OIDC_ROLE", &v, false)?;
        }
        if let Some(v) = var("POLICY_NAME") {
            c.policy_name = name("POLICY_NAME", &v, false)?;
        }
        c.check()?;
        Ok(c)
    }

    /// Checks names and redirect URIs.
    pub fn check(&self) -> Result<(), Error> {
        name("OIDC client name", &self.client_name, false)?;
        name("JWT auth path", &self.jwt_auth_path, true)?;
        name("role", &self.role, false)?;
        name("policy name", &self.policy_name, false)?;
        if self.redirect_uris.is_empty() {
            return Err(cfg_err("REDIRECT_URI holds no URI"));
        }
        for u in &self.redirect_uris {
            LoopbackUri::parse(u).map_err(|e| cfg_err(e.to_string()))?;
        }
        if self.policy_text.trim().is_empty() {
            return Err(cfg_err("the policy text is empty"));
        }
        Ok(())
    }

    /// The OIDC provider URL users will enter (known before the provider exists).
    pub fn expected_provider_url(&self) -> String {
        let ns = self
            .namespace
            .header()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!(
            "{}/v1/{ns}identity/oidc/provider/{}",
            self.cluster_url, self.client_name
        )
    }
}

/// The least policy the admin token running the setup needs, for these names.
pub fn admin_policy(
    client_name: &str,
    jwt_auth_path: &str,
    role: &str,
    policy_name: &str,
) -> String {
    format!(
        r#"# vault-refs setup: the least an admin token needs to run hashicorp-setup
path "identity/oidc/client/{client_name}"   {{ capabilities = ["create", "read", "update"] }}
path "identity/oidc/provider/{client_name}" {{ capabilities = ["create", "read", "update"] }}
path "sys/auth/{jwt_auth_path}"             {{ capabilities = ["create", "update", "sudo"] }}
path "auth/{jwt_auth_path}/config"          {{ capabilities = ["create", "update"] }}
path "auth/{jwt_auth_path}/role/{role}"     {{ capabilities = ["create", "update"] }}
path "sys/policies/acl/{policy_name}"       {{ capabilities = ["create", "update"] }}
"#
    )
}

/// One request of the setup, as shown before it is sent (or instead, in a dry run).
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRequest {
    /// What the step does, in words.
    pub step: String,
    /// HTTP method.
    pub method: &'static str,
    /// API path after `/v1/`.
    pub path: String,
    /// JSON body, if any (never a token).
    pub body: Option<Value>,
    /// Whether it changes the server (reads are not asked about).
    pub writes: bool,
}

impl fmt::Display for PlannedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} /v1/{}", self.method, self.path)?;
        if let Some(b) = &self.body {
            write!(f, " {b}")?;
        }
        Ok(())
    }
}

/// Run for real, or only print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Send the requests (asking first when the host's `confirm` says so).
    Apply,
    /// Send nothing; every request goes to `confirm` for printing, with placeholders for
    /// values the server would have returned.
    DryRun,
}

/// What the host is asked before each request: `true` sends (or, in a dry run, just lists)
/// the request, `false` skips a write step (a skipped read aborts the setup).
pub trait Confirm: Send {
    /// Shows `request`; returns whether to go on with it.
    fn confirm(&mut self, request: &PlannedRequest) -> bool;
}

impl<F: FnMut(&PlannedRequest) -> bool + Send> Confirm for F {
    fn confirm(&mut self, request: &PlannedRequest) -> bool {
        self(request)
    }
}

/// The values to enter in the integration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupOutcome {
    /// `oidc_provider_url`.
    pub oidc_provider_url: String,
    /// `jwt_auth_path`.
    pub jwt_auth_path: String,
    /// `client_id`.
    pub client_id: String,
    /// `role`.
    pub role: String,
    /// `namespace` (empty: root).
    pub namespace: String,
    /// Write steps the host declined.
    pub skipped: Vec<String>,
}

impl SetupOutcome {
    /// One labelled line per value, as the issue fixes them.
    pub fn labelled_lines(&self) -> String {
        format!(
            "OIDC Provider URL: {}\nJWT Auth Path: {}\nClient Id: {}\nRole: {}\nNamespace: {}\n",
            self.oidc_provider_url, self.jwt_auth_path, self.client_id, self.role, self.namespace
        )
    }

    /// The `[integrations.hashicorp]` table for the config file.
    pub fn toml_snippet(&self) -> String {
        let q = |s: &str| Value::String(s.to_owned()).to_string();
        format!(
            "[integrations.hashicorp]\noidc_provider_url = {}\njwt_auth_path = {}\nclient_id = {}\nrole = {}\nnamespace = {}\n",
            q(&self.oidc_provider_url),
            q(&self.jwt_auth_path),
            q(&self.client_id),
            q(&self.role),
            q(&self.namespace)
        )
    }
}

struct Runner<'a> {
    api: VaultApi,
    token: &'a SecretString,
    mode: Mode,
    confirm: &'a mut dyn Confirm,
    skipped: Vec<String>,
}

enum Sent {
    Body(Value),
    Skipped,
    DryRun,
}

impl Runner<'_> {
    async fn send(&mut self, req: PlannedRequest, tolerate: Option<&str>) -> Result<Sent, Error> {
        let go = self.confirm.confirm(&req);
        if self.mode == Mode::DryRun {
            return Ok(Sent::DryRun);
        }
        if !go {
            if !req.writes {
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    format!("setup stopped before: {}", req.step),
                )
                .with_provider(PROVIDER_ID));
            }
            self.skipped.push(req.step.clone());
            return Ok(Sent::Skipped);
        }
        let method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::GET);
        let url = self.api.url(&req.path)?;
        let mut reply = self
            .api
            .call(method, url, Some(self.token), req.body.as_ref(), &req.step)
            .await?;
        if reply.status.is_success() {
            return Ok(Sent::Body(reply.take_body()));
        }
        let detail = vault_errors(&reply.body);
        if let Some(t) = tolerate {
            if detail.contains(t) {
                return Ok(Sent::Body(Value::Null));
            }
        }
        Err(http::status_error(reply.status, &reply.body, &req.step))
    }
}

fn field(body: &Value, pointer: &str, what: &str) -> Result<String, Error> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{what}: the answer has no `{pointer}`"),
            )
            .with_provider(PROVIDER_ID)
        })
}

/// Runs the setup. In [`Mode::DryRun`] nothing is sent and the outcome holds placeholders
/// where the server's answers would be.
pub async fn run(
    config: &SetupConfig,
    mode: Mode,
    confirm: &mut dyn Confirm,
) -> Result<SetupOutcome, Error> {
    config.check()?;
    let http = http::client(std::time::Duration::from_secs(15))?;
    let api = VaultApi::new(
        http,
        config.api_address.clone(),
        config.namespace.clone(),
        RetryPolicy::default(),
    );
    let mut r = Runner {
        api,
        token: &config.token,
        mode,
        confirm,
        skipped: Vec::new(),
    };
    let c = config;
    let client_path = format!("identity/oidc/client/{}", c.client_name);
    let provider_path = format!("identity/oidc/provider/{}", c.client_name);

    // 1. the public OIDC client
    r.send(
        PlannedRequest {
            step: format!(
                "create or update the public OIDC client `{}`",
                c.client_name
            ),
            method: "POST",
            path: client_path.clone(),
            body: Some(json!({
                "redirect_uris": c.redirect_uris,
                "assignments": ["allow_all"],
                "key": "default",
                "client_type": "public",
                "id_token_ttl": "30m",
                "access_token_ttl": "1h",
            })),
            writes: true,
        },
        None,
    )
    .await?;
    let read_client = PlannedRequest {
        step: format!("read the client id of `{}`", c.client_name),
        method: "GET",
        path: client_path,
        body: None,
        writes: false,
    };
    let client_id = match r.send(read_client.clone(), None).await? {
        Sent::Body(b) => field(&b, "/data/client_id", &read_client.step)?,
        _ => "<client_id>".to_owned(),
    };

    // 2. the OIDC provider, keeping client ids already allowed
    let read_provider = PlannedRequest {
        step: format!("read the OIDC provider `{}`", c.client_name),
        method: "GET",
        path: provider_path.clone(),
        body: None,
        writes: false,
    };
    let mut allowed: Vec<String> = Vec::new();
    if mode == Mode::Apply {
        let url = r.api.url(&provider_path)?;
        let reply = r
            .api
            .call(Method::GET, url, Some(r.token), None, &read_provider.step)
            .await?;
        if reply.status.is_success() {
            if let Some(ids) = reply
                .body
                .pointer("/data/allowed_client_ids")
                .and_then(Value::as_array)
            {
                allowed.extend(
                    ids.iter()
                        .filter_map(Value::as_str)
                        .filter(|s| *s != "*")
                        .map(str::to_owned),
                );
            }
        } else if reply.status.as_u16() != 404 {
            return Err(http::status_error(
                reply.status,
                &reply.body,
                &read_provider.step,
            ));
        }
    }
    if !allowed.contains(&client_id) {
        allowed.push(client_id.clone());
    }
    r.send(
        PlannedRequest {
            step: format!(
                "create or update the OIDC provider `{}` (issuer {})",
                c.client_name, c.cluster_url
            ),
            method: "POST",
            path: provider_path.clone(),
            body: Some(json!({
                "allowed_client_ids": allowed,
                "issuer": c.cluster_url.as_str(),
                "scopes_supported": [],
            })),
            writes: true,
        },
        None,
    )
    .await?;
    let issuer = match r.send(read_provider.clone(), None).await? {
        Sent::Body(b) => field(&b, "/data/issuer", &read_provider.step)?,
        _ => c.expected_provider_url(),
    };

    // 3. the JWT auth method, configured with the provider's discovery
    r.send(
        PlannedRequest {
            step: format!("enable the JWT auth method at `{}`", c.jwt_auth_path),
            method: "POST",
            path: format!("sys/auth/{}", c.jwt_auth_path),
            body: Some(json!({ "type": "jwt", "description": "vault-refs: sign-in through the OIDC provider" })),
            writes: true,
        },
        Some("already in use"),
    )
    .await?;
    r.send(
        PlannedRequest {
            step: format!(
                "configure `auth/{}` with the provider's discovery URL",
                c.jwt_auth_path
            ),
            method: "POST",
            path: format!("auth/{}/config", c.jwt_auth_path),
            body: Some(json!({ "oidc_discovery_url": issuer, "default_role": c.role })),
            writes: true,
        },
        None,
    )
    .await?;

    // 4. the read policy
    r.send(
        PlannedRequest {
            step: format!("write the read policy `{}`", c.policy_name),
            method: "PUT",
            path: format!("sys/policies/acl/{}", c.policy_name),
            body: Some(json!({ "policy": c.policy_text })),
            writes: true,
        },
        None,
    )
    .await?;

    // 5. the role
    r.send(
        PlannedRequest {
            step: format!("create or update the role `{}`", c.role),
            method: "POST",
            path: format!("auth/{}/role/{}", c.jwt_auth_path, c.role),
            body: Some(json!({
                "role_type": "jwt",
                "bound_audiences": [client_id],
                "user_claim": "sub",
                "token_policies": [c.policy_name],
                "token_ttl": "1h",
            })),
            writes: true,
        },
        None,
    )
    .await?;

    Ok(SetupOutcome {
        oidc_provider_url: issuer,
        jwt_auth_path: c.jwt_auth_path.clone(),
        client_id,
        role: c.role.clone(),
        namespace: c.namespace.as_str().to_owned(),
        skipped: r.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::MapEnv;

    #[test]
    fn env_defaults_and_overrides() {
        let env = MapEnv::new().with("VAULT_TOKEN", "t");
        let c = SetupConfig::from_env("http://127.0.0.1:8200", &env).unwrap();
        assert_eq!(c.client_name, "vault-refs");
        assert_eq!(c.redirect_uris.len(), 2);
        assert_eq!(
            c.expected_provider_url(),
            "http://127.0.0.1:8200/v1/identity/oidc/provider/vault-refs"
        );
        let env = MapEnv::new()
            .with("VAULT_TOKEN", "t")
            .with("VAULT_NAMESPACE", "team1")
            .with("OIDC_CLIENT_NAME", "x")
            .with("REDIRECT_URI", "http://127.0.0.1:1/ , http://127.0.0.1:2/")
            .with("VAULT_ADDR", "http://127.0.0.1:9");
        let c = SetupConfig::from_env("http://127.0.0.1:8200", &env).unwrap();
        assert_eq!(
            c.expected_provider_url(),
            "http://127.0.0.1:8200/v1/team1/identity/oidc/provider/x"
        );
        assert_eq!(
            c.redirect_uris,
            ["http://127.0.0.1:1/", "http://127.0.0.1:2/"]
        );
        assert_eq!(c.api_address.as_str(), "http://127.0.0.1:9");
        let e = SetupConfig::from_env("http://127.0.0.1:8200", &MapEnv::new()).unwrap_err();
        assert!(e.message().contains("VAULT_TOKEN"));
        let env = MapEnv::new()
            .with("VAULT_TOKEN", "t")
            .with("REDIRECT_URI", "http://localhost:1/");
        assert!(SetupConfig::from_env("http://127.0.0.1:8200", &env).is_err());
    }

    #[test]
    fn outcome_prints_labels_and_toml() {
        let o = SetupOutcome {
            oidc_provider_url: "http://a/v1/identity/oidc/provider/vault-refs".into(),
            jwt_auth_path: "vault-refs-jwt".into(),
            client_id: "cid".into(),
            role: "vault-refs".into(),
            namespace: String::new(),
            skipped: vec![],
        };
        let lines = o.labelled_lines();
        for label in [
            "OIDC Provider URL: ",
            "JWT Auth Path: ",
            "Client Id: ",
            "Role: ",
            "Namespace: ",
        ] {
            assert!(lines.lines().any(|l| l.starts_with(label)), "{label}");
        }
        let t: toml::Table = toml::from_str(&o.toml_snippet()).unwrap();
        assert_eq!(
            t["integrations"]["hashicorp"]["client_id"].as_str(),
            Some("cid")
        );
    }

    #[tokio::test]
    async fn dry_run_sends_nothing_and_lists_every_request() {
        // port 9 (discard) on loopback: nothing answers, so any request sent would fail
        let c = SetupConfig::new("http://127.0.0.1:9", SecretString::from("t")).unwrap();
        let mut seen = Vec::new();
        let mut confirm = |r: &PlannedRequest| {
            seen.push(r.to_string());
            true
        };
        let o = run(&c, Mode::DryRun, &mut confirm).await.unwrap();
        assert_eq!(o.client_id, "<client_id>");
        assert_eq!(seen.len(), 8, "{seen:#?}");
        assert!(seen[0].starts_with("POST /v1/identity/oidc/client/vault-refs"));
        assert!(seen
            .iter()
            .any(|s| s.starts_with("PUT /v1/sys/policies/acl/vault-refs-read")));
        assert!(seen.iter().all(|s| !s.contains("\"t\"")));
    }
}
