//! A password pasted into an endpoint URL (`https://alice:PW@host`) — in the config file or
//! in a variable the CLIs read — is refused, and the error that says so never repeats it:
//! through `vaultctl` for every URL a user can give (each provider's endpoint, authority,
//! redirect URI, Key Vault identifier, `VAULT_ADDR`, `AWS_ENDPOINT_URL`, ...), in every shape
//! (valid URL, wrong scheme, plain http to a remote host, not a URL at all).

mod common;

use common::{config, run, texts};

const PW: &str = "PW-CANARY-u9f3k";

/// URL shapes that carry the password; `{}` is the host part after the user info.
fn shapes(host: &str) -> Vec<String> {
    vec![
        format!("https://alice:{PW}@{host}"),
        format!("http://alice:{PW}@{host}"),
        format!("ftp://alice:{PW}@{host}"),
        format!("https://alice:{PW}@[{host}"),
        format!("https://alice:{PW}/x@{host}"),
        format!("https://{host}/?token={PW}"),
        format!("https://alice:pa#{PW}@{host}"),
        format!("https://alice:pa?{PW}@{host}"),
        format!("alice:{PW}@{host}?u=https://x"),
        format!("https://{host}/?u=a@b&token={PW}"),
    ]
}

/// (name, config text with `URL` where the URL goes, variables whose values may hold `URL`).
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "hashicorp-provider-url",
            "[integrations.hashicorp]\noidc_provider_url = \"URL\"\n\n[secrets.s.hashicorp]\nengine = \"secret\"\npath = \"a\"\nkey = \"k\"\n",
            vec![],
        ),
        (
            "hashicorp-address",
            "[integrations.hashicorp]\nauth_method = \"token\"\naddress = \"URL\"\n\n[secrets.s.hashicorp]\nengine = \"secret\"\npath = \"a\"\nkey = \"k\"\n",
            vec![("VAULT_TOKEN", "t")],
        ),
        (
            "hashicorp-vault-addr",
            "[integrations.hashicorp]\nauth_method = \"token\"\n\n[secrets.s.hashicorp]\nengine = \"secret\"\npath = \"a\"\nkey = \"k\"\n",
            vec![("VAULT_ADDR", "URL"), ("VAULT_TOKEN", "t")],
        ),
        (
            "hashicorp-redirect",
            "[integrations.hashicorp]\nauth_method = \"oidc\"\naddress = \"https://vault.example.com\"\nredirect_uri = \"URL\"\n\n[secrets.s.hashicorp]\nengine = \"secret\"\npath = \"a\"\nkey = \"k\"\n",
            vec![],
        ),
        (
            "azure-authority",
            "[integrations.azure]\ntenant = \"contoso.com\"\nclient_id = \"c\"\nauthority = \"URL\"\n\n[secrets.s.azure]\nidentifier = \"https://v1.vault.azure.net/secrets/s\"\n",
            vec![],
        ),
        (
            "azure-redirect",
            "[integrations.azure]\ntenant = \"contoso.com\"\nclient_id = \"c\"\nredirect_uri = \"URL\"\n\n[secrets.s.azure]\nidentifier = \"https://v1.vault.azure.net/secrets/s\"\n",
            vec![],
        ),
        (
            "azure-identifier",
            "[integrations.azure]\ntenant = \"contoso.com\"\nclient_id = \"c\"\n\n[secrets.s.azure]\nidentifier = \"URL\"\n",
            vec![],
        ),
        (
            "aws-endpoint",
            "[integrations.aws]\nendpoint_url = \"URL\"\n\n[secrets.s.aws]\nsecret_arn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf\"\n",
            vec![("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "k")],
        ),
        (
            "azure-vault-hosts",
            "[integrations.azure]\ntenant = \"contoso.com\"\nclient_id = \"c\"\nvault_hosts = [\"URL\"]\n\n[secrets.s.azure]\nidentifier = \"https://v1.vault.azure.net/secrets/s\"\n",
            vec![],
        ),
        (
            "allowed-domains",
            "[secrets.s]\nvalue = \"v\"\nallowed_domains = [\"URL\"]\n",
            vec![],
        ),
        (
            "aws-endpoint-variable",
            "[integrations.aws]\n\n[secrets.s.aws]\nsecret_arn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf\"\n",
            vec![
                ("AWS_ENDPOINT_URL", "URL"),
                ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "k"),
            ],
        ),
    ]
}

#[test]
fn a_password_in_an_endpoint_url_never_reaches_an_error() {
    let mut checked = 0;
    for (name, text, vars) in cases() {
        // the cloud hosts for the identifier, a loopback or remote host elsewhere
        let host = if name == "azure-identifier" {
            "v1.vault.azure.net/secrets/s"
        } else {
            "example.com"
        };
        for url in shapes(host) {
            let path = config(&format!("userinfo-{name}"), &text.replace("URL", &url));
            let cfg = path.to_str().unwrap();
            let env: Vec<(&str, String)> = vars
                .iter()
                .map(|(k, v)| (*k, v.replace("URL", &url)))
                .collect();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for args in [
                vec!["--config", cfg, "check"],
                vec!["--config", cfg, "get", "s"],
            ] {
                let out = run("vaultctl", &args, &env);
                let (o, e) = texts(&out);
                assert!(
                    !o.contains(PW) && !e.contains(PW),
                    "{name} {url} {args:?} echoed the password:\n{o}\n{e}"
                );
                assert_ne!(
                    out.status.code(),
                    Some(0),
                    "{name} {url} {args:?} was accepted:\n{o}\n{e}"
                );
                assert!(
                    !(o.trim().is_empty() && e.trim().is_empty()),
                    "{name} {url} {args:?}: no error shown"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 11 * 10 * 2);
}

#[test]
fn a_password_in_a_request_url_never_reaches_an_error() {
    let path = config("userinfo-resolve", "[secrets.s]\nvalue = \"v\"\n");
    let cfg = path.to_str().unwrap();
    for url in shapes("example.com") {
        let out = run(
            "vaultctl",
            &["--config", cfg, "resolve", "{{vault:s}}", "--url", &url],
            &[],
        );
        let (o, e) = texts(&out);
        assert!(
            !o.contains(PW) && !e.contains(PW),
            "{url} echoed the password:\n{o}\n{e}"
        );
    }
}
