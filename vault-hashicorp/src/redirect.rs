//! The loopback redirect URI of the sign-in.
//!
//! OpenBao and Vault match `127.0.0.1` redirect URIs on any port (RFC 8252 §7.3) but on the
//! exact path, and refuse `localhost`, so only an IPv4 loopback literal is accepted here.
//! The listener itself is [`vault_core::loopback`]: [`RedirectPlan::urls`] is what it binds,
//! the first one it can, in order.

use std::net::Ipv4Addr;

use url::Url;

use crate::defaults;

/// Why a redirect URI was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// Not a URL.
    #[error("redirect URI `{0}` is not a URL")]
    NotAUrl(String),
    /// Not `http://127.x.y.z:port/...`.
    #[error(
        "redirect URI `{0}` must be http://127.0.0.1:<port>/<path> (Vault refuses `localhost`)"
    )]
    NotLoopback(String),
    /// Query or fragment present.
    #[error("redirect URI `{0}` must not have a query or fragment")]
    Extra(String),
}

/// One loopback address to listen on: IP, port (0: any free port) and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopbackUri {
    /// The loopback IP.
    pub ip: Ipv4Addr,
    /// The port; 0 lets the system choose a free one.
    pub port: u16,
    /// The path the callback must hit (at least `/`).
    pub path: String,
}

impl LoopbackUri {
    /// Parses `http://127.0.0.1:10545/`.
    pub fn parse(text: &str) -> Result<Self, RedirectError> {
        let url = Url::parse(text.trim())
            .map_err(|_| RedirectError::NotAUrl(vault_core::url_text::for_message(text)))?;
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() && url.scheme() == "http" => ip,
            _ => {
                return Err(RedirectError::NotLoopback(
                    vault_core::url_text::for_message(text),
                ))
            }
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(RedirectError::Extra(vault_core::url_text::for_message(
                text,
            )));
        }
        Ok(LoopbackUri {
            ip,
            port: url.port().unwrap_or(80),
            path: url.path().to_owned(),
        })
    }

    /// The URI with the port actually bound.
    pub fn with_port(&self, port: u16) -> String {
        format!("http://{}:{}{}", self.ip, port, self.path)
    }

    /// This URI as a [`Url`] (port 0 kept: the listener resolves it).
    pub fn url(&self) -> Url {
        let mut url = Url::parse(&format!("http://{}:{}/", self.ip, self.port))
            .expect("an IPv4 literal and a port always form a URL");
        // `set_path` percent-encodes what needs it, so a hand-built `path` cannot break it
        url.set_path(&self.path);
        url
    }
}

/// The redirect URIs to try, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectPlan(pub Vec<LoopbackUri>);

impl RedirectPlan {
    /// The default: 10545, then 10534 when that port is taken.
    pub fn default_ports() -> Self {
        RedirectPlan(vec![
            LoopbackUri::parse(defaults::REDIRECT_URI).expect("valid default"),
            LoopbackUri::parse(defaults::FALLBACK_REDIRECT_URI).expect("valid default"),
        ])
    }

    /// Exactly this URI (port 0: any free port).
    pub fn only(uri: LoopbackUri) -> Self {
        RedirectPlan(vec![uri])
    }

    /// The URIs to hand to [`vault_core::loopback::LoopbackListener::bind_first`], in order.
    pub fn urls(&self) -> Vec<Url> {
        self.0.iter().map(LoopbackUri::url).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loopback_and_rejects_the_rest() {
        let u = LoopbackUri::parse("http://127.0.0.1:0/cb").unwrap();
        assert_eq!((u.port, u.path.as_str()), (0, "/cb"));
        assert_eq!(u.with_port(4321), "http://127.0.0.1:4321/cb");
        assert_eq!(LoopbackUri::parse("http://127.0.0.1/").unwrap().port, 80);
        for bad in [
            "http://localhost:1/",
            "https://127.0.0.1:1/",
            "http://10.0.0.1:1/",
        ] {
            assert!(
                matches!(LoopbackUri::parse(bad), Err(RedirectError::NotLoopback(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            LoopbackUri::parse("http://127.0.0.1:1/?a=b"),
            Err(RedirectError::Extra(_))
        ));
        assert!(matches!(
            LoopbackUri::parse("nope"),
            Err(RedirectError::NotAUrl(_))
        ));
        let urls = RedirectPlan::default_ports().urls();
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            [defaults::REDIRECT_URI, defaults::FALLBACK_REDIRECT_URI]
        );
        assert_eq!(u.url().as_str(), "http://127.0.0.1:0/cb");
    }
}
