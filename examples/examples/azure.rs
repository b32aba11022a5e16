//! Azure Key Vault through vault-azure, against the local peers of the test harness: the
//! real `oidc-provider` behind Microsoft identity platform URLs, and a Key Vault stand-in
//! that accepts only access tokens that provider signed (audience `https://vault.azure.net`).
//!
//! What it shows:
//! 1. a vault in the config file format whose secrets link to Key Vault identifiers (the
//!    latest version and a pinned one), with `[integrations.azure]` pointing at the peer;
//! 2. the browser sign-in (authorization code + PKCE, loopback redirect on a free port): the
//!    provider asks the host to open `sign-in URL: …`; here a tiny headless "browser" follows
//!    the identity provider's redirects (it signs the test user in at once) until the
//!    redirect reaches the provider's loopback listener. A real program passes an
//!    Interaction that opens the system browser (see `vaultctl`);
//! 3. one sign-in serving every reference of a request, resolved concurrently;
//! 4. `check` (never a value) and `details` (attributes, never the value).
//!
//! ```text
//! .ci/peers/start.sh oidc
//! set -a; . ~/.cache/vault-refs-peers/run/all.env; set +a
//! cargo run --example azure
//! ```
//! The `VAULT_TEST_AZURE_*` variables are written by `.ci/peers/peer-oidc.sh`. Values are
//! printed masked: an example's output ends up in logs.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;
use vault_core::{
    Config, DeviceCode, Error, ErrorKind, HttpRequest, Interaction, MapEnv, Resolver,
};
use vault_examples::demo::{peer_var, print_check, print_details, print_headers};

/// A headless browser for the local peer: prints the URL like the CLI does, then follows
/// redirects with a cookie jar until one leaves the identity provider (the loopback
/// redirect), and opens that one too.
struct PeerBrowser {
    http: reqwest::Client,
    sign_ins: AtomicUsize,
}

#[async_trait]
impl Interaction for PeerBrowser {
    async fn open_url(&self, url: &Url) -> Result<(), Error> {
        self.sign_ins.fetch_add(1, Ordering::SeqCst);
        let shown = format!("{}?…", &url.as_str()[..url.as_str().find('?').unwrap_or(0)]);
        eprintln!("sign-in URL: {shown}");
        let fail = |m: String| Error::new(ErrorKind::Cancelled, m);
        let mut cookies = BTreeMap::new();
        let mut at = url.clone();
        for _ in 0..20 {
            let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let resp = self
                .http
                .get(at.clone())
                .header(reqwest::header::COOKIE, jar.join("; "))
                .send()
                .await
                .map_err(|e| fail(format!("browser: {}", e.without_url())))?;
            for c in resp.headers().get_all(reqwest::header::SET_COOKIE) {
                if let Some((k, v)) = c
                    .to_str()
                    .unwrap_or("")
                    .split(';')
                    .next()
                    .and_then(|kv| kv.split_once('='))
                {
                    cookies.insert(k.to_owned(), v.to_owned());
                }
            }
            let Some(next) = resp.headers().get(reqwest::header::LOCATION) else {
                return Err(fail(format!(
                    "browser: no redirect from {} ({})",
                    at.path(),
                    resp.status()
                )));
            };
            let next = at
                .join(next.to_str().unwrap_or(""))
                .map_err(|_| fail("browser: bad redirect".into()))?;
            if next.origin() != url.origin() {
                // The loopback redirect: the provider's listener answers with a short page.
                let page = self
                    .http
                    .get(next)
                    .send()
                    .await
                    .map_err(|e| fail(format!("browser: {}", e.without_url())))?;
                eprintln!("browser: loopback answered {}", page.status());
                return Ok(());
            }
            at = next;
        }
        Err(fail("browser: too many redirects".into()))
    }

    async fn show_device_code(&self, code: &DeviceCode) -> Result<(), Error> {
        eprintln!(
            "open {} and enter the code {}",
            code.verification_uri, code.user_code
        );
        Ok(())
    }

    async fn ask_mfa_code(&self, serial: &str) -> Result<SecretString, Error> {
        Err(Error::new(
            ErrorKind::Cancelled,
            format!("no MFA code for {serial} here"),
        ))
    }
}

async fn run() -> Result<(), String> {
    let config_text = format!(
        r#"
[cache]
ttl_minutes = 60

[integrations.azure]
tenant = "{tenant}"
client_id = "{client_id}"
authority = "{authority}"        # the local peer; leave it out for Microsoft Entra ID
vault_hosts = ["{vault_host}"]   # the local Key Vault stand-in (plain http: loopback only)
redirect_uri = "http://127.0.0.1:0/"   # any free port

[secrets.db]
allowed_domains = ["db.example.com"]   # sent to this host only

[secrets.db.azure]
identifier = "{latest}"          # no version: the latest

[secrets.db-v1.azure]
identifier = "{v1}"              # pinned version
"#,
        tenant = peer_var("VAULT_TEST_AZURE_TENANT", "oidc")?,
        client_id = peer_var("VAULT_TEST_AZURE_CLIENT_ID", "oidc")?,
        authority = peer_var("VAULT_TEST_AZURE_AUTHORITY", "oidc")?,
        vault_host = peer_var("VAULT_TEST_AZURE_VAULT_HOST", "oidc")?,
        latest = peer_var("VAULT_TEST_AZURE_SECRET_ID", "oidc")?,
        v1 = peer_var("VAULT_TEST_AZURE_SECRET_V1_ID", "oidc")?,
    );
    let config = Config::parse(&config_text).map_err(|e| format!("config: {e}"))?;
    let settings = config
        .integrations
        .values()
        .next()
        .ok_or("no [integrations.azure] table")?;
    // AZURE_* conventions come through an injected environment (a real program passes
    // `vault_core::ProcessEnv`); everything is in the table here.
    let azure =
        vault_azure::from_settings(settings, &MapEnv::new()).map_err(|e| format!("config: {e}"))?;
    let browser = Arc::new(PeerBrowser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?,
        sign_ins: AtomicUsize::new(0),
    });
    let resolver = Resolver::builder(config.vault)
        .cache(config.cache)
        .provider(azure)
        .interaction(browser.clone())
        .env(Arc::new(MapEnv::new()))
        .build();

    println!("1. A request template resolved for db.example.com (sign-in, then both reads):");
    let template = HttpRequest::new("POST", "https://db.example.com/login")
        .header("X-Current", "{{vault:db}}")
        .header("X-Pinned", "{{vault:db-v1}}");
    let resolved = resolver
        .resolve_request(&template)
        .await
        .map_err(|e| e.to_string())?;
    print_headers(&resolved)?;
    println!("  sign-ins: {}", browser.sign_ins.load(Ordering::SeqCst));

    println!("\n2. check (never a value):");
    print_check(&resolver).await;

    println!("\n3. details of `db` (attributes, never the value):");
    let d = resolver.describe("db").await.map_err(|e| e.to_string())?;
    print_details(&d);
    let sign_ins = browser.sign_ins.load(Ordering::SeqCst);
    if sign_ins != 1 {
        return Err(format!(
            "expected one sign-in for everything, saw {sign_ins}"
        ));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azure example: {e}");
            ExitCode::FAILURE
        }
    }
}
