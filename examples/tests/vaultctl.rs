//! The `vaultctl` contract with local secrets: values, allowed domains, unknown names, bad
//! config, exit codes, nothing leaked.

mod common;

use common::{config, run, texts};

const CANARY: &str = "ghp_canary_31337";

fn vault_toml() -> String {
    format!(
        r#"
[secrets.github-token]
value = "{CANARY}"
allowed_domains = ["api.github.com", "*.githubusercontent.com"]

[secrets.db-password]
value_env = "VAULTCTL_TEST_DB"

[secrets.empty]
value = ""

[secrets.off]
value = "{CANARY}"
enabled = false
"#
    )
}

fn ctl(test: &str, args: &[&str]) -> (i32, String, String) {
    let path = config(test, &vault_toml());
    let mut all = vec!["--config", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run("vaultctl", &all, &[("VAULTCTL_TEST_DB", "pg-pass")]);
    let (o, e) = texts(&out);
    (out.status.code().unwrap_or(-1), o, e)
}

#[test]
fn get_prints_the_value_and_a_newline() {
    assert_eq!(
        ctl("get", &["get", "github-token"]),
        (0, format!("{CANARY}\n"), String::new())
    );
    assert_eq!(ctl("get-env", &["get", "db-password"]).1, "pg-pass\n");
    assert_eq!(ctl("get-empty", &["get", "empty"]).1, "\n");
}

#[test]
fn get_unknown_or_disabled_is_exit_1_with_one_line() {
    let (code, out, err) = ctl("unknown", &["get", "nope"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("secret `nope`") && err.contains("unknown name"),
        "{err}"
    );
    let (code, _, err) = ctl("off", &["get", "off"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("secret `off`") && err.contains("disabled"),
        "{err}"
    );
    assert!(!err.contains(CANARY));
}

#[test]
fn resolve_honours_allowed_domains() {
    let text = "Bearer {{vault:github-token}}";
    let (code, out, _) = ctl(
        "ok",
        &["resolve", text, "--url", "https://api.github.com/user"],
    );
    assert_eq!((code, out), (0, format!("Bearer {CANARY}\n")));
    let (code, out, _) = ctl(
        "sub",
        &[
            "resolve",
            text,
            "--url",
            "https://raw.githubusercontent.com/x",
        ],
    );
    assert_eq!((code, out), (0, format!("Bearer {CANARY}\n")));
    for url in [
        "https://evil.com/",
        "https://api.github.com.evil.com/",
        "https://api.github.com@evil.com/",
    ] {
        let (code, out, err) = ctl("refused", &["resolve", text, "--url", url]);
        assert_eq!((code, out.as_str()), (1, ""), "{url}");
        assert!(
            err.contains("domain not allowed") && err.contains("github-token"),
            "{err}"
        );
        assert!(!err.contains(CANARY));
    }
    let (code, _, err) = ctl("no-url", &["resolve", text]);
    assert_eq!(code, 1, "no URL: a restricted secret is not resolved");
    assert!(err.contains("domain not allowed"), "{err}");
    let (code, out, _) = ctl(
        "plain",
        &["resolve", "pw={{vault:db-password}} \\{{vault:x}}"],
    );
    assert_eq!((code, out.as_str()), (0, "pw=pg-pass {{vault:x}}\n"));
    let (code, _, err) = ctl("malformed", &["resolve", "{{vault:bad name}}"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid reference") && err.contains("byte 0"),
        "{err}"
    );
}

#[test]
fn check_lists_every_secret_without_values() {
    let (code, out, _) = ctl("check", &["check"]);
    assert_eq!(
        code, 0,
        "a turned-off secret alone does not fail check: {out}"
    );
    assert!(!out.contains(CANARY) && !out.contains("pg-pass"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines.contains(&"github-token\tlocal value\tresolved"),
        "{out}"
    );
    assert!(
        lines.contains(&"db-password\tenv VAULTCTL_TEST_DB\tresolved"),
        "{out}"
    );
    assert!(
        lines.contains(&"empty\tlocal value\tresolved (empty value)"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("off\tlocal value\tdisabled")),
        "{out}"
    );

    let path = config("check-env", &vault_toml());
    let out = run(
        "vaultctl",
        &["--config", path.to_str().unwrap(), "check"],
        &[],
    );
    let (o, _) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "an unset variable fails check");
    assert!(
        o.contains("db-password\tenv VAULTCTL_TEST_DB\tenvironment variable not set"),
        "{o}"
    );
}

#[test]
fn details_of_a_local_secret_is_refused() {
    let (code, _, err) = ctl("details", &["details", "github-token"]);
    assert_eq!(code, 1);
    assert!(err.contains("only linked secrets have details"), "{err}");
    assert!(!err.contains(CANARY));
}

#[test]
fn bad_usage_is_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["get"],
        &["get", "a", "b"],
        &["--bogus", "check"],
        &["get", "x", "--url", "https://a.b/"],
        &["login", "nosuch"],
    ] {
        let (code, out, err) = ctl("usage", args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.starts_with("vaultctl: "), "{err}");
    }
    let (code, out, _) = ctl("help", &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("usage: vaultctl"));
}

#[test]
fn bad_config_is_exit_2_with_position() {
    let path = config(
        "bad-config",
        &format!("[secrets.a]\nvalue = \"{CANARY}\"\nvalu = 1\n"),
    );
    let out = run(
        "vaultctl",
        &["--config", path.to_str().unwrap(), "check"],
        &[],
    );
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(o.is_empty());
    assert!(e.contains(":3:1: unknown key `valu` in [secrets.a]"), "{e}");
    assert!(!e.contains(CANARY));

    let path = config("typo-provider", "[secrets.a.asw]\nsecret_arn = \"x\"\n");
    let out = run(
        "vaultctl",
        &["--config", path.to_str().unwrap(), "check"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("unknown provider `asw`"));

    let out = run(
        "vaultctl",
        &["--config", "/nonexistent/vault.toml", "check"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("cannot read the config file"));
}

#[test]
fn double_dash_and_bad_urls() {
    let (code, out, _) = ctl("dashdash", &["resolve", "--", "-x {{vault:db-password}}"]);
    assert_eq!((code, out.as_str()), (0, "-x pg-pass\n"));
    for url in ["not a url", "ftp://api.github.com/", "mailto:x@y.z"] {
        let (code, _, err) = ctl(
            "bad-url",
            &["resolve", "{{vault:github-token}}", "--url", url],
        );
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("is not an http(s) URL"), "{err}");
    }
}

#[test]
fn a_link_its_provider_refuses_blocks_only_itself() {
    let path = config(
        "bad-link",
        &format!(
            "[secrets.stripe.aws]\nsecret_arn = \"arn:aws:s3:::not-a-secret\"\n\n[secrets.ok]\nvalue = \"{CANARY}\"\n"
        ),
    );
    let cfg = path.to_str().unwrap();
    let out = run("vaultctl", &["--config", cfg, "get", "stripe"], &[]);
    let (_, e) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("secret `stripe` (aws): invalid link"), "{e}");
    let out = run("vaultctl", &["--config", cfg, "get", "ok"], &[]);
    assert_eq!(out.status.code(), Some(0), "the other secrets keep working");
    assert_eq!(texts(&out).0, format!("{CANARY}\n"));
    let out = run("vaultctl", &["--config", cfg, "check"], &[]);
    let (o, _) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{o}");
    assert!(o.contains("stripe\taws link\tinvalid link: "), "{o}");
    assert!(o.contains("ok\tlocal value\tresolved"), "{o}");
}

#[test]
fn login_to_an_unconfigured_provider_says_why() {
    let (code, _, err) = ctl("login", &["login", "aws"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("aws"), "{err}");
}

/// A provider this build leaves out (`gcp` is off by default) is named with the feature that
/// builds it in: one line, exit 1, never a panic or "unknown provider". With the feature on,
/// the provider answers for itself (here: no access token).
#[test]
fn a_provider_left_out_of_the_build_names_its_feature() {
    let path = config(
        "gcp-left-out",
        "[integrations.gcp]\nproject = \"p\"\nendpoint = \"http://127.0.0.1:9\"\naccess_token_env = \"VAULTCTL_TEST_NO_TOKEN\"\n\n[secrets.g.gcp]\nsecret = \"db\"\n",
    );
    let cfg = path.to_str().unwrap();
    let out = run("vaultctl", &["--config", cfg, "get", "g"], &[]);
    let (o, e) = texts(&out);
    assert_eq!((out.status.code(), o.as_str()), (Some(1), ""), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("secret `g` (gcp)"), "{e}");
    assert!(
        !e.contains("unknown provider") && !e.contains("panicked"),
        "{e}"
    );
    if cfg!(feature = "gcp") {
        assert!(!e.contains("not built"), "{e}");
    } else {
        assert!(
            e.contains("not built into this program") && e.contains("--features gcp"),
            "{e}"
        );
        let out = run("vaultctl", &["--config", cfg, "status"], &[]);
        let (o, _) = texts(&out);
        assert!(
            o.contains("gcp: not built into this program (--features gcp)"),
            "{o}"
        );
        assert!(!o.contains("no integration is configured"), "{o}");
    }
}

/// A PKCS#12 certificate in a build without the `pkcs12` feature (off by default): refused
/// naming the feature, before any network call; with the feature, read as PKCS#12 (here a
/// file that is not one).
#[cfg(feature = "azure")]
#[test]
fn a_pkcs12_certificate_without_the_feature_names_it() {
    let path = config(
        "pkcs12-left-out",
        "[integrations.azure]\ntenant = \"t\"\nclient_id = \"c\"\nauthority = \"http://127.0.0.1:9\"\nflow = \"certificate\"\n\n[secrets.kv.azure]\nidentifier = \"https://v.vault.azure.net/secrets/kv\"\n",
    );
    let p12 = path.with_file_name("cert.p12");
    std::fs::write(&p12, [0x30u8, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03]).unwrap();
    let cfg = path.to_str().unwrap();
    let out = run(
        "vaultctl",
        &["--config", cfg, "get", "kv"],
        &[("AZURE_CLIENT_CERTIFICATE_PATH", p12.to_str().unwrap())],
    );
    let (o, e) = texts(&out);
    assert_eq!(o, "", "{e}");
    assert_ne!(out.status.code(), Some(0), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(!e.contains("panicked"), "{e}");
    if cfg!(feature = "pkcs12") {
        assert!(e.contains("neither PEM nor a PKCS#12 file"), "{e}");
    } else {
        assert!(
            e.contains("PKCS#12") && e.contains("feature `pkcs12`"),
            "{e}"
        );
    }
}
