//! TLS as the Vault CLI configures it, from its variables:
//!
//! | variable | effect |
//! | --- | --- |
//! | `VAULT_CACERT` | a PEM file of CA certificates; only these are trusted (not the system's) |
//! | `VAULT_CAPATH` | a directory of PEM files, all trusted, likewise instead of the system's |
//! | `VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY` | a client certificate (mutual TLS), both PEM |
//! | `VAULT_TLS_SERVER_NAME` | the name the server's certificate must carry (the address is dialled as given) |
//! | `VAULT_SKIP_VERIFY` | `true`/`1`: no certificate check at all — honoured, with a loud warning on stderr |
//!
//! Files are read once, when the provider is built; a bad file is a config error naming the
//! variable.

use std::net::ToSocketAddrs;
use std::path::Path;

use secrecy::ExposeSecret;
use vault_core::{Environment, Error, ErrorKind};
use zeroize::Zeroizing;

use crate::address::VaultAddress;
use crate::PROVIDER_ID;

/// The TLS settings of the CLI's variables, read and checked.
#[derive(Default)]
pub(crate) struct TlsSettings {
    roots: Vec<reqwest::Certificate>,
    identity: Option<reqwest::Identity>,
    server_name: Option<String>,
    skip_verify: bool,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("roots", &self.roots.len())
            .field("client_cert", &self.identity.is_some())
            .field("server_name", &self.server_name)
            .field("skip_verify", &self.skip_verify)
            .finish()
    }
}

fn bad(var: &str, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidConfig, format!("{var}: {why}")).with_provider(PROVIDER_ID)
}

fn var(env: &dyn Environment, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.expose_secret().trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn read_certs(var_name: &str, path: &Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let pem = std::fs::read(path).map_err(|e| {
        bad(
            var_name,
            format!("cannot read {}: {}", path.display(), e.kind()),
        )
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
        bad(
            var_name,
            format!("{} holds no PEM certificate", path.display()),
        )
    })?;
    if certs.is_empty() {
        return Err(bad(
            var_name,
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

impl TlsSettings {
    /// Reads `VAULT_CACERT`, `VAULT_CAPATH`, `VAULT_CLIENT_CERT`/`VAULT_CLIENT_KEY`,
    /// `VAULT_TLS_SERVER_NAME` and `VAULT_SKIP_VERIFY` from `env`.
    pub fn from_env(env: &dyn Environment) -> Result<Self, Error> {
        let mut s = TlsSettings::default();
        if let Some(file) = var(env, "VAULT_CACERT") {
            s.roots
                .extend(read_certs("VAULT_CACERT", Path::new(&file))?);
        }
        if let Some(dir) = var(env, "VAULT_CAPATH") {
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| bad("VAULT_CAPATH", format!("cannot list {dir}: {}", e.kind())))?;
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths.iter().filter(|p| p.is_file()) {
                s.roots.extend(read_certs("VAULT_CAPATH", p)?);
            }
            if s.roots.is_empty() {
                return Err(bad(
                    "VAULT_CAPATH",
                    format!("{dir} holds no PEM certificate"),
                ));
            }
        }
        match (var(env, "VAULT_CLIENT_CERT"), var(env, "VAULT_CLIENT_KEY")) {
            (Some(cert), Some(key)) => {
                let mut pem = Zeroizing::new(std::fs::read(&cert).map_err(|e| {
                    bad(
                        "VAULT_CLIENT_CERT",
                        format!("cannot read {cert}: {}", e.kind()),
                    )
                })?);
                pem.push(b'\n');
                let key_pem = Zeroizing::new(std::fs::read(&key).map_err(|e| {
                    bad(
                        "VAULT_CLIENT_KEY",
                        format!("cannot read {key}: {}", e.kind()),
                    )
                })?);
                pem.extend_from_slice(&key_pem);
                s.identity = Some(reqwest::Identity::from_pem(&pem).map_err(|_| {
                    bad(
                        "VAULT_CLIENT_CERT",
                        "the certificate and key are not a PEM certificate with its private key",
                    )
                })?);
            }
            (None, None) => {}
            _ => {
                return Err(bad(
                    "VAULT_CLIENT_CERT",
                    "set both VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, or neither",
                ))
            }
        }
        s.server_name = var(env, "VAULT_TLS_SERVER_NAME");
        s.skip_verify = var(env, "VAULT_SKIP_VERIFY")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "t" | "yes"));
        Ok(s)
    }

    /// Applies the settings to a client builder. With a server name, the address is
    /// re-written to that name and the name is pinned to the address's IPs (so the name is
    /// what the certificate is checked against, as `VAULT_TLS_SERVER_NAME` does); the
    /// returned address is the one to use.
    pub fn apply(
        self,
        mut builder: reqwest::ClientBuilder,
        address: &VaultAddress,
    ) -> Result<(reqwest::ClientBuilder, VaultAddress), Error> {
        let mut address = address.clone();
        if !self.roots.is_empty() {
            builder = builder.tls_built_in_root_certs(false);
            for c in self.roots {
                builder = builder.add_root_certificate(c);
            }
        }
        if let Some(id) = self.identity {
            builder = builder.identity(id);
        }
        if let Some(name) = self.server_name {
            let mut url = url::Url::parse(address.as_str())
                .map_err(|_| bad("VAULT_TLS_SERVER_NAME", "the address is not a URL"))?;
            let port = url.port_or_known_default().unwrap_or(443);
            let host = url
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_owned();
            let addrs: Vec<_> = (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| {
                    bad(
                        "VAULT_TLS_SERVER_NAME",
                        format!("cannot resolve {host}: {}", e.kind()),
                    )
                })?
                .collect();
            url.set_host(Some(&name)).map_err(|_| {
                bad(
                    "VAULT_TLS_SERVER_NAME",
                    format!("`{name}` is not a host name"),
                )
            })?;
            address =
                VaultAddress::parse(url.as_str()).map_err(|e| bad("VAULT_TLS_SERVER_NAME", e))?;
            builder = builder.resolve_to_addrs(&name, &addrs);
        }
        if self.skip_verify {
            eprintln!(
                "WARNING: VAULT_SKIP_VERIFY is set: the Vault server's TLS certificate is NOT checked for {address}; \
                 anyone on the network path can read your Vault token and secrets. Use VAULT_CACERT instead."
            );
            builder = builder.danger_accept_invalid_certs(true);
        }
        Ok((builder, address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::MapEnv;

    fn message(env: &MapEnv) -> String {
        TlsSettings::from_env(env).unwrap_err().message().to_owned()
    }

    #[test]
    fn bad_files_are_config_errors_naming_the_variable() {
        let dir = std::env::temp_dir().join(format!("vh-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let m = message(&MapEnv::new().with("VAULT_CACERT", "/nonexistent/ca.pem"));
        assert!(m.starts_with("VAULT_CACERT:"), "{m}");
        let m = message(&MapEnv::new().with("VAULT_CACERT", junk.to_str().unwrap()));
        assert!(m.contains("no PEM certificate"), "{m}");
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let m = message(&MapEnv::new().with("VAULT_CAPATH", empty.to_str().unwrap()));
        assert!(m.starts_with("VAULT_CAPATH:"), "{m}");
        let m = message(&MapEnv::new().with("VAULT_CLIENT_CERT", junk.to_str().unwrap()));
        assert!(m.contains("both"), "{m}");
        let e = TlsSettings::from_env(&MapEnv::new()).unwrap();
        assert!(e.roots.is_empty() && e.identity.is_none() && !e.skip_verify);
        for (v, on) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            let s = TlsSettings::from_env(&MapEnv::new().with("VAULT_SKIP_VERIFY", v)).unwrap();
            assert_eq!(s.skip_verify, on, "{v}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
