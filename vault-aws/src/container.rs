//! Container credentials (ECS task roles, EKS Pod Identity): a local HTTP endpoint named by
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `http://169.254.170.2`) or
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with an `Authorization` header from
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at each fetch: it rotates) or
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
//!
//! A full URI may only go where the AWS SDKs allow: `https` anywhere, `http` only to a
//! loopback address or to the ECS (`169.254.170.2`) and EKS (`169.254.170.23`,
//! `[fd00:ec2::23]`) agents, so the token is never sent over the network in clear.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;
use vault_core::{Environment, Error, ErrorKind};

use crate::credentials::Credentials;
use crate::transport::{PlainRequest, Transport};
use crate::{http_creds, PROVIDER_ID};

/// The ECS agent's address, for relative URIs.
pub const ECS_HOST: &str = "169.254.170.2";

/// Timeout of one call to the endpoint (it is local).
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Where to fetch container credentials.
#[derive(Clone, Debug)]
pub(crate) struct ContainerSource {
    url: Url,
}

fn config_error(m: String) -> Error {
    Error::new(ErrorKind::InvalidConfig, m).with_provider(PROVIDER_ID)
}

fn var(env: &dyn Environment, name: &str) -> Option<SecretString> {
    env.var(name)
        .filter(|v| !v.expose_secret().trim().is_empty())
}

/// Whether `url` may receive the authorization token.
fn allowed(url: &Url) -> bool {
    if url.scheme() == "https" {
        return true;
    }
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback()
                || ip == std::net::Ipv4Addr::new(169, 254, 170, 2)
                || ip == std::net::Ipv4Addr::new(169, 254, 170, 23)
        }
        Some(url::Host::Ipv6(ip)) => {
            IpAddr::V6(ip).is_loopback()
                || ip
                    == "fd00:ec2::23"
                        .parse::<std::net::Ipv6Addr>()
                        .expect("static address")
        }
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl ContainerSource {
    /// The source the environment names, `Ok(None)` when it names none.
    pub fn from_env(env: &dyn Environment) -> Result<Option<Self>, Error> {
        if let Some(rel) = var(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            let rel = rel.expose_secret().trim().to_owned();
            let url = Url::parse(&format!("http://{ECS_HOST}"))
                .and_then(|b| b.join(&rel))
                .map_err(|_| {
                    config_error(
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a valid path".to_owned(),
                    )
                })?;
            return Ok(Some(ContainerSource { url }));
        }
        let Some(full) = var(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
            return Ok(None);
        };
        let url = Url::parse(full.expose_secret().trim()).map_err(|_| {
            config_error("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL".to_owned())
        })?;
        if !url.username().is_empty() || url.password().is_some() || !allowed(&url) {
            return Err(config_error(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI: `{}` is not allowed (https, or http to \
                 a loopback address or the ECS/EKS agent only)",
                url.host_str().unwrap_or("?")
            )));
        }
        Ok(Some(ContainerSource { url }))
    }

    /// The host, for `status`.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("?").to_owned()
    }

    /// Fetches the credentials.
    pub async fn credentials(
        &self,
        transport: &Transport,
        env: &dyn Environment,
    ) -> Result<Credentials, Error> {
        let mut headers = Vec::new();
        let token = if let Some(file) = var(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            let path = file.expose_secret().trim().to_owned();
            let text = tokio::fs::read_to_string(&path).await.map_err(|e| {
                config_error(format!(
                    "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {}",
                    e.kind()
                ))
            })?;
            Some(SecretString::from(zeroize::Zeroizing::new(text).trim()))
        } else {
            var(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
        };
        if let Some(t) = token {
            let t = t.expose_secret().trim();
            if t.contains(['\r', '\n']) {
                return Err(config_error(
                    "the container authorization token holds a line break".to_owned(),
                ));
            }
            headers.push(("authorization", t.to_owned()));
        }
        let what = "container credentials";
        let reply = transport
            .plain(PlainRequest {
                method: reqwest::Method::GET,
                url: &self.url,
                headers,
                body: None,
                what,
                timeout: Some(TIMEOUT),
            })
            .await?;
        match reply.status {
            200 => http_creds::parse(&reply.body, what),
            s => Err(Error::new(
                if matches!(s, 401 | 403) {
                    ErrorKind::AuthFailed
                } else {
                    ErrorKind::Unavailable
                },
                format!("{what}: HTTP {s} from {}", self.host()),
            )
            .with_provider(PROVIDER_ID)
            .with_retryable(s >= 500)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::MapEnv;

    #[test]
    fn full_uri_only_where_allowed() {
        let ok = |u: &str| {
            ContainerSource::from_env(&MapEnv::new().with("AWS_CONTAINER_CREDENTIALS_FULL_URI", u))
        };
        for good in [
            "http://127.0.0.1:8080/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1",
            "http://localhost/x",
            "https://creds.example.com/x",
        ] {
            assert!(ok(good).unwrap().is_some(), "{good}");
        }
        for bad in [
            "http://10.0.0.1/creds",
            "http://example.com/",
            "ftp://127.0.0.1/",
            "http://u:p@127.0.0.1/",
        ] {
            let e = ok(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{bad}");
            assert!(!e.message().contains("u:p"), "{e}");
        }
        let rel = ContainerSource::from_env(&MapEnv::new().with(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(rel.url.as_str(), "http://169.254.170.2/v2/credentials/abc");
        assert!(ContainerSource::from_env(&MapEnv::new()).unwrap().is_none());
    }
}
