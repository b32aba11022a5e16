//! The setup tool's logic (the `hashicorp-setup` example is a thin CLI over it): what a Vault
//! admin would otherwise type, through the HTTP API, so that users can then sign in with
//! nothing but the values it prints.
//!
//! Steps, in the namespace `VAULT_NAMESPACE` (header, never a path prefix):
//!
//! 0. Reads that fail before anything is written: `GET sys/auth/<jwt path>` (a mount of
//!    another type there is refused, never reconfigured), `GET sys/mounts` to find the mount
//!    and KV version of each `--read` path ([`crate::read_policy`]), and the ids of the
//!    `--group`/`--entity` names (`GET identity/group/name/<g>`, `identity/entity/name/<e>`);
//!    with groups or entities, `POST identity/oidc/assignment/<client>` holding their ids.
//!    With `--group` (and no `--entity`, see [`SetupConfig::binds_groups`]): `GET
//!    identity/oidc/scope/groups`, then `POST` it with the template
//!    [`defaults::GROUPS_SCOPE_TEMPLATE`] when it is missing (one that already yields the
//!    `groups` claim is kept; one with another template is refused, never overwritten).
//! 1. `POST identity/oidc/client/<client>`: a public client (PKCE), assigned to those groups
//!    and entities (else `allow_all`: every entity of the namespace may sign in), the
//!    loopback redirect URIs; then `GET` it for its `client_id` (an update keeps the id).
//! 2. `POST identity/oidc/provider/<client>` with the cluster URL as issuer and the client id
//!    allowed (client ids already allowed are kept), `scopes_supported` = `["groups"]` when
//!    binding groups (else `[]`); then `GET` it for the issuer.
//! 3. `POST sys/auth/<jwt path> {type: jwt}` (already enabled is fine), then
//!    `POST auth/<jwt path>/config` with the provider's discovery URL, `bound_issuer` and the
//!    default role. The provider must exist first: Vault fetches the discovery document
//!    right away.
//! 4. `PUT sys/policies/acl/<policy>`: least privilege by default, `read` on the named KV
//!    paths only; the seed's broad policy (read and list everything but `sys/` and `auth/`)
//!    only when asked for ([`SetupConfig::broad_read`]); or the admin's own text.
//! 5. `POST auth/<jwt path>/role/<role>`: `role_type=jwt`, bound by claims (`aud` = the
//!    client id, `iss` through the config's `bound_issuer`, and when binding groups
//!    `bound_claims = {"groups": [the --group names]}` with `bound_claims_type=string`: the
//!    id_token must name at least one of them; else `bound_claims = {}`, which also lifts a
//!    binding an earlier run wrote), `user_claim=sub`, the policy.
//!
//! Every step is idempotent, so a rerun is safe. The least the admin token needs is
//! [`admin_policy_for`] (`sudo` on `sys/auth/<jwt path>` is what enabling an auth method asks).

use std::fmt;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use vault_core::{Environment, Error, ErrorKind};

use crate::address::VaultAddress;
use crate::defaults;
use crate::http::{self, vault_errors, VaultApi};
use crate::namespace::Namespace;
use crate::read_policy::{self, ReadPath};
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
    /// The admin's own policy HCL text (`POLICY_FILE` in the CLI); empty: the tool writes
    /// one from `read` (or the broad one with `broad_read`).
    pub policy_text: String,
    /// The KV paths users may read (`--read MOUNT/PATH`, logical paths).
    pub read: Vec<ReadPath>,
    /// The seed's broad policy instead (`--broad-read`): read and list everything but `sys/`
    /// and `auth/`. Not least privilege; the CLI warns.
    pub broad_read: bool,
    /// Groups whose members may sign in (`--group`, names); with `entities` empty too,
    /// every entity may (`allow_all`).
    pub groups: Vec<String>,
    /// Entities that may sign in (`--entity`, names).
    pub entities: Vec<String>,
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
            .field("read", &self.read)
            .field("broad_read", &self.broad_read)
            .field("groups", &self.groups)
            .field("entities", &self.entities)
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
            policy_text: String::new(),
            read: Vec::new(),
            broad_read: false,
            groups: Vec::new(),
            entities: Vec::new(),
        })
    }

    /// The names of the seed's guide (`--seed-names`): client and provider
    /// `postman-integration-client`, JWT auth path `postman-jwt`, role `postman`, policy
    /// `postman-integration-policy`, so an admin who followed it gets the same objects.
    pub fn with_seed_names(mut self) -> Self {
        self.client_name = defaults::SEED_CLIENT_NAME.into();
        self.jwt_auth_path = defaults::SEED_JWT_AUTH_PATH.into();
        self.role = defaults::SEED_ROLE.into();
        self.policy_name = defaults::SEED_POLICY_NAME.into();
        self
    }

    /// From the environment: `VAULT_TOKEN` (required), `VAULT_ADDR`, `VAULT_NAMESPACE`,
    /// `OIDC_CLIENT_NAME`, `REDIRECT_URI`, `JWT_AUTH_PATH`, `OIDC_ROLE`, `POLICY_NAME` (the
    /// policy text is left at its default: the CLI reads `POLICY_FILE`).
    pub fn from_env(cluster_url: &str, env: &dyn Environment) -> Result<Self, Error> {
        Self::from_env_names(cluster_url, env, false)
    }

    /// [`from_env`](Self::from_env), starting from the seed's names when `seed_names` (the
    /// environment's names still win).
    pub fn from_env_names(
        cluster_url: &str,
        env: &dyn Environment,
        seed_names: bool,
    ) -> Result<Self, Error> {
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
        if seed_names {
            c = c.with_seed_names();
        }
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
            for u in &c.redirect_uris {
                LoopbackUri::parse(u).map_err(|e| cfg_err(format!("REDIRECT_URI: {e}")))?;
            }
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
        Ok(c)
    }

    /// Whether the JWT role is bound to the `--group` names by a `groups` claim: with groups
    /// and no entities. The assignment lets in members of the groups *or* the named entities,
    /// while a role's bound claims must all hold, so a `groups` binding would refuse a named
    /// entity outside the groups; with entities (alone or beside groups) the role is bound by
    /// audience and issuer only and the assignment alone decides who signs in.
    pub fn binds_groups(&self) -> bool {
        !self.groups.is_empty() && self.entities.is_empty()
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
        for g in &self.groups {
            name("--group", g, false)?;
        }
        for e in &self.entities {
            name("--entity", e, false)?;
        }
        let custom = !self.policy_text.trim().is_empty();
        match (custom, self.broad_read, !self.read.is_empty()) {
            (false, false, false) => Err(cfg_err(
                "name the KV paths users may read with --read MOUNT/PATH (repeatable, e.g. \
                 --read secret/app/*), or ask for the seed's broad policy with --broad-read",
            )),
            (true, false, false) | (false, true, false) | (false, false, true) => Ok(()),
            _ => Err(cfg_err(
                "--read, --broad-read and a policy file (POLICY_FILE) exclude each other",
            )),
        }
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

/// The least policy the admin token needs to run the setup `config` describes: the
/// [`admin_policy`] of its names, plus reading the mount table for `--read` and the named
/// groups and entities, and writing their OIDC assignment.
pub fn admin_policy_for(config: &SetupConfig) -> String {
    let mut p = admin_policy(
        &config.client_name,
        &config.jwt_auth_path,
        &config.role,
        &config.policy_name,
    );
    if !config.read.is_empty() {
        p.push_str("path \"sys/mounts\"                          { capabilities = [\"read\"] }\n");
    }
    for g in &config.groups {
        p.push_str(&format!(
            "path \"identity/group/name/{g}\" {{ capabilities = [\"read\"] }}\n"
        ));
    }
    for e in &config.entities {
        p.push_str(&format!(
            "path \"identity/entity/name/{e}\" {{ capabilities = [\"read\"] }}\n"
        ));
    }
    if !config.groups.is_empty() || !config.entities.is_empty() {
        p.push_str(&format!(
            "path \"identity/oidc/assignment/{}\" {{ capabilities = [\"create\", \"read\", \"update\"] }}\n",
            config.client_name
        ));
    }
    if config.binds_groups() {
        p.push_str(&format!(
            "path \"identity/oidc/scope/{}\" {{ capabilities = [\"create\", \"read\", \"update\"] }}\n",
            defaults::GROUPS_SCOPE
        ));
    }
    p
}

/// The least policy the admin token running the setup needs, for these names (without the
/// reads `--read`, `--group` and `--entity` add: see [`admin_policy_for`]).
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
path "sys/auth/{jwt_auth_path}"             {{ capabilities = ["create", "read", "update", "sudo"] }}
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
    /// The read policy's text as written (or, in a dry run, as it would be).
    pub policy_text: String,
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

    // 0. reads first: nothing is written when one of them fails
    let read_auth = PlannedRequest {
        step: format!("check what is mounted at `auth/{}`", c.jwt_auth_path),
        method: "GET",
        path: format!("sys/auth/{}", c.jwt_auth_path),
        body: None,
        writes: false,
    };
    if let Sent::Body(b) = r.send(read_auth, Some("No auth engine")).await? {
        let kind = b
            .pointer("/data/type")
            .or_else(|| b.get("type"))
            .and_then(Value::as_str);
        if let Some(kind) = kind.filter(|k| *k != "jwt") {
            return Err(cfg_err(format!(
                "`auth/{}` is already a `{}` auth method: the setup does not reconfigure a mount \
                 of another type (choose another JWT_AUTH_PATH)",
                c.jwt_auth_path,
                http::short(kind)
            )));
        }
    }
    let policy_text = if !c.policy_text.trim().is_empty() {
        c.policy_text.clone()
    } else if c.broad_read {
        defaults::POLICY_TEXT.to_owned()
    } else {
        let list = PlannedRequest {
            step: "read the mount table (the mount and KV version of each --read path)".into(),
            method: "GET",
            path: "sys/mounts".into(),
            body: None,
            writes: false,
        };
        let reads = match r.send(list, None).await? {
            Sent::Body(b) => {
                let table = read_policy::mounts(&b);
                c.read
                    .iter()
                    .map(|p| read_policy::resolve(p, &table))
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => c.read.iter().map(read_policy::assume).collect(),
        };
        read_policy::policy_text(&reads)
    };
    let group_ids = lookup_ids(&mut r, "group", &c.groups).await?;
    let entity_ids = lookup_ids(&mut r, "entity", &c.entities).await?;
    let write_scope = if c.binds_groups() {
        read_groups_scope(&mut r).await?
    } else {
        false
    };
    let assignments = if c.groups.is_empty() && c.entities.is_empty() {
        json!(["allow_all"])
    } else {
        r.send(
            PlannedRequest {
                step: format!(
                    "assign the OIDC client to {} group(s) and {} entit(y/ies)",
                    c.groups.len(),
                    c.entities.len()
                ),
                method: "POST",
                path: format!("identity/oidc/assignment/{}", c.client_name),
                body: Some(json!({ "group_ids": group_ids, "entity_ids": entity_ids })),
                writes: true,
            },
            None,
        )
        .await?;
        json!([c.client_name])
    };
    let scopes_supported = if c.binds_groups() {
        if write_scope {
            write_groups_scope(&mut r).await?;
        }
        json!([defaults::GROUPS_SCOPE])
    } else {
        json!([])
    };

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
                "assignments": assignments,
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
                "scopes_supported": scopes_supported,
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
            body: Some(json!({
                "oidc_discovery_url": issuer,
                "bound_issuer": issuer,
                "default_role": c.role,
            })),
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
            body: Some(json!({ "policy": policy_text })),
            writes: true,
        },
        None,
    )
    .await?;

    // 5. the role, bound by the groups claim when asked (an empty map lifts an old binding)
    let bound_claims = if c.binds_groups() {
        json!({ "groups": c.groups })
    } else {
        json!({})
    };
    r.send(
        PlannedRequest {
            step: format!("create or update the role `{}`", c.role),
            method: "POST",
            path: format!("auth/{}/role/{}", c.jwt_auth_path, c.role),
            body: Some(json!({
                "role_type": "jwt",
                "bound_audiences": [client_id],
                "bound_claims": bound_claims,
                "bound_claims_type": "string",
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
        policy_text,
    })
}

/// Whether a scope template yields the `groups` claim of [`defaults::GROUPS_SCOPE_TEMPLATE`]
/// (whitespace aside; other claims beside it are fine).
fn yields_groups_claim(template: &str) -> bool {
    let squeeze = |t: &str| t.split_whitespace().collect::<String>();
    let ours = squeeze(defaults::GROUPS_SCOPE_TEMPLATE);
    let claim = ours.trim_start_matches('{').trim_end_matches('}');
    squeeze(template).contains(claim)
}

/// Reads the `groups` scope before anything is written: `true` when it is missing (or in a
/// dry run) and must be written, `false` when it already yields the claim; one with another
/// template is refused (another provider of the namespace may rely on it).
async fn read_groups_scope(r: &mut Runner<'_>) -> Result<bool, Error> {
    let scope = defaults::GROUPS_SCOPE;
    let path = format!("identity/oidc/scope/{scope}");
    let read = PlannedRequest {
        step: format!("read the OIDC scope `{scope}` (the claim binding the groups)"),
        method: "GET",
        path: path.clone(),
        body: None,
        writes: false,
    };
    let go = r.confirm.confirm(&read);
    if r.mode == Mode::Apply {
        if !go {
            return Err(Error::new(
                ErrorKind::Cancelled,
                format!("setup stopped before: {}", read.step),
            )
            .with_provider(PROVIDER_ID));
        }
        let url = r.api.url(&path)?;
        let reply = r
            .api
            .call(Method::GET, url, Some(r.token), None, &read.step)
            .await?;
        if reply.status.is_success() {
            let template = reply
                .body
                .pointer("/data/template")
                .and_then(Value::as_str)
                .unwrap_or("");
            if yields_groups_claim(template) {
                return Ok(false);
            }
            return Err(cfg_err(format!(
                "the OIDC scope `{scope}` already exists with another template ({}): the setup \
                 does not overwrite it; give it the template {} or remove it",
                http::short(template),
                defaults::GROUPS_SCOPE_TEMPLATE
            )));
        } else if reply.status.as_u16() != 404 {
            return Err(http::status_error(reply.status, &reply.body, &read.step));
        }
    }
    Ok(true)
}

/// Writes the `groups` scope with [`defaults::GROUPS_SCOPE_TEMPLATE`].
async fn write_groups_scope(r: &mut Runner<'_>) -> Result<(), Error> {
    let scope = defaults::GROUPS_SCOPE;
    let path = format!("identity/oidc/scope/{scope}");
    r.send(
        PlannedRequest {
            step: format!("create the OIDC scope `{scope}`: a `groups` claim with the entity's group names"),
            method: "POST",
            path,
            body: Some(json!({
                "template": defaults::GROUPS_SCOPE_TEMPLATE,
                "description": "vault-refs: the signed-in entity's group names, bound by the JWT role",
            })),
            writes: true,
        },
        None,
    )
    .await?;
    Ok(())
}

/// The ids of the named groups or entities (`kind`), in order; placeholders in a dry run.
async fn lookup_ids(
    r: &mut Runner<'_>,
    kind: &str,
    names: &[String],
) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    for n in names {
        let req = PlannedRequest {
            step: format!("find the id of the {kind} `{n}`"),
            method: "GET",
            path: format!("identity/{kind}/name/{n}"),
            body: None,
            writes: false,
        };
        match r.send(req.clone(), None).await {
            Ok(Sent::Body(b)) => ids.push(field(&b, "/data/id", &req.step)?),
            Ok(_) => ids.push(format!("<id of {kind} {n}>")),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(cfg_err(format!(
                    "there is no {kind} named `{n}` in this namespace"
                )))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(ids)
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
    fn the_policy_choice_is_explicit() {
        let mut c = SetupConfig::new("http://127.0.0.1:8200", SecretString::from("t")).unwrap();
        let e = c.check().unwrap_err();
        assert!(e.message().contains("--read MOUNT/PATH"), "{e}");
        assert!(e.message().contains("--broad-read"), "{e}");
        c.broad_read = true;
        c.check().unwrap();
        c.read = vec![ReadPath::parse("secret/app/*").unwrap()];
        assert!(c
            .check()
            .unwrap_err()
            .message()
            .contains("exclude each other"));
        c.broad_read = false;
        c.check().unwrap();
        c.groups = vec!["a b".into()];
        assert!(c.check().unwrap_err().message().contains("--group"));
    }

    #[test]
    fn seed_names_and_the_admin_policy_for_them() {
        let env = MapEnv::new().with("VAULT_TOKEN", "t");
        let mut c = SetupConfig::from_env_names("http://127.0.0.1:8200", &env, true).unwrap();
        assert_eq!(
            (
                c.client_name.as_str(),
                c.jwt_auth_path.as_str(),
                c.role.as_str(),
                c.policy_name.as_str()
            ),
            (
                "postman-integration-client",
                "postman-jwt",
                "postman",
                "postman-integration-policy"
            )
        );
        let env = env.with("OIDC_ROLE", "mine");
        let named = SetupConfig::from_env_names("http://127.0.0.1:8200", &env, true).unwrap();
        assert_eq!(named.role, "mine", "the environment's names still win");
        c.read = vec![ReadPath::parse("secret/app/*").unwrap()];
        c.entities = vec!["alice".into()];
        let p = admin_policy_for(&c);
        assert!(p.contains(r#"path "sys/auth/postman-jwt""#), "{p}");
        assert!(p.contains(r#"path "sys/mounts""#), "{p}");
        assert!(p.contains(r#"path "identity/entity/name/alice""#), "{p}");
        assert!(
            p.contains(r#"path "identity/oidc/assignment/postman-integration-client""#),
            "{p}"
        );
        assert!(!p.contains("identity/group/"), "{p}");
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
            policy_text: String::new(),
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

    #[test]
    fn which_templates_yield_the_groups_claim() {
        assert!(yields_groups_claim(defaults::GROUPS_SCOPE_TEMPLATE));
        assert!(yields_groups_claim(
            "{\n  \"groups\":{{identity.entity.groups.names}},\n  \"email\": {{identity.entity.metadata.email}}\n}"
        ));
        assert!(!yields_groups_claim(
            r#"{"groups": {{identity.entity.groups.ids}}}"#
        ));
        assert!(!yields_groups_claim(
            r#"{"team": {{identity.entity.groups.names}}}"#
        ));
        assert!(!yields_groups_claim(""));
    }

    #[test]
    fn groups_are_bound_only_without_entities() {
        let mut c = SetupConfig::new("http://127.0.0.1:8200", SecretString::from("t")).unwrap();
        c.read = vec![ReadPath::parse("secret/app/*").unwrap()];
        assert!(!c.binds_groups());
        assert!(!admin_policy_for(&c).contains("identity/oidc/scope/"));
        c.groups = vec!["devs".into()];
        assert!(c.binds_groups());
        assert!(admin_policy_for(&c).contains(r#"path "identity/oidc/scope/groups""#));
        c.entities = vec!["alice".into()];
        assert!(!c.binds_groups(), "a groups claim would refuse alice");
        assert!(!admin_policy_for(&c).contains("identity/oidc/scope/"));
    }

    #[tokio::test]
    async fn dry_run_sends_nothing_and_lists_every_request() {
        // port 9 (discard) on loopback: nothing answers, so any request sent would fail
        let mut c = SetupConfig::new("http://127.0.0.1:9", SecretString::from("t")).unwrap();
        c.read = vec![ReadPath::parse("secret/app/*").unwrap()];
        c.groups = vec!["devs".into()];
        let mut seen = Vec::new();
        let mut confirm = |r: &PlannedRequest| {
            seen.push(r.to_string());
            true
        };
        let o = run(&c, Mode::DryRun, &mut confirm).await.unwrap();
        assert_eq!(o.client_id, "<client_id>");
        assert_eq!(seen.len(), 14, "{seen:#?}");
        assert!(seen[0].starts_with("GET /v1/sys/auth/vault-refs-jwt"));
        assert!(seen[1].starts_with("GET /v1/sys/mounts"));
        assert!(seen[2].starts_with("GET /v1/identity/group/name/devs"));
        assert!(seen[3].starts_with("GET /v1/identity/oidc/scope/groups"));
        assert!(seen[4].starts_with("POST /v1/identity/oidc/assignment/vault-refs"));
        assert!(seen[4].contains("<id of group devs>"), "{}", seen[4]);
        assert!(
            seen[5].starts_with("POST /v1/identity/oidc/scope/groups")
                && seen[5].contains("identity.entity.groups.names"),
            "{}",
            seen[5]
        );
        assert!(seen[6].starts_with("POST /v1/identity/oidc/client/vault-refs"));
        assert!(
            seen[6].contains(r#""assignments":["vault-refs"]"#),
            "{}",
            seen[6]
        );
        let provider = seen
            .iter()
            .find(|s| s.starts_with("POST /v1/identity/oidc/provider/"))
            .unwrap();
        assert!(
            provider.contains(r#""scopes_supported":["groups"]"#),
            "{provider}"
        );
        let role = seen
            .iter()
            .find(|s| s.contains("/role/vault-refs"))
            .unwrap();
        assert!(
            role.contains(r#""bound_claims":{"groups":["devs"]}"#),
            "{role}"
        );
        assert!(o.policy_text.contains(r#"path "secret/data/app/*""#));
        assert!(!o.policy_text.contains(r#"path "*""#));
        assert!(seen
            .iter()
            .any(|s| s.starts_with("PUT /v1/sys/policies/acl/vault-refs-read")));
        assert!(seen.iter().all(|s| !s.contains("\"t\"")));
    }
}
