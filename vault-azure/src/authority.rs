//! The Microsoft identity platform v2 endpoints: `<authority>/<tenant>/oauth2/v2.0/...`.
//!
//! The authority host picks the cloud (`login.microsoftonline.com` public,
//! `login.chinacloudapi.cn` China, `login.microsoftonline.us` US Government); tests point it
//! at a local OpenID provider with the same URL shapes. The tenant is a tenant id (GUID), a
//! verified domain, or one of `organizations`, `common`, `consumers`.

use std::fmt;

use url::Url;

use crate::cloud::Cloud;
use crate::host_policy::is_loopback_host;

/// The default authority: the public cloud's sign-in host.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The default tenant: any work or school account.
pub const DEFAULT_TENANT: &str = "organizations";

/// An authority host plus a tenant.
#[derive(Clone, PartialEq, Eq)]
pub struct Authority {
    base: String,
    tenant: String,
    cloud: Option<Cloud>,
}

impl Authority {
    /// Validates `base` (https, or http on a loopback host; no query, fragment or user) and
    /// `tenant` (letters, digits, `.`, `-`).
    pub fn new(base: &str, tenant: &str) -> Result<Self, String> {
        // Quoted without any user name, password or query it may carry.
        let shown = vault_core::url_text::for_message(base);
        let url = Url::parse(base.trim())
            .map_err(|e| format!("authority `{shown}` is not a URL: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("authority `{shown}` has no host"))?
            .to_ascii_lowercase();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&host) => {}
            "http" => {
                return Err(format!(
                    "authority `{shown}` uses plain http: only loopback hosts may (tests)"
                ))
            }
            other => return Err(format!("authority scheme `{other}` is not https")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the authority must not carry a user name or password".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "authority `{shown}` must not have a query or fragment"
            ));
        }
        let tenant = tenant.trim();
        if tenant.is_empty()
            || tenant.len() > 256
            || !tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            || tenant.starts_with('.')
        {
            return Err(format!(
                "tenant `{tenant}` is invalid: a tenant id, a domain, `organizations`, `common` or `consumers`"
            ));
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(Authority {
            base,
            tenant: tenant.to_owned(),
            cloud: Cloud::from_login_host(&host),
        })
    }

    /// The authority URL without the tenant (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Whether the tenant is one of the multi-tenant aliases (`organizations`, `common`,
    /// `consumers`) rather than one directory.
    pub fn is_multi_tenant(&self) -> bool {
        ["organizations", "common", "consumers"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&self.tenant))
    }

    /// The known cloud of the authority host, if it is one.
    pub fn cloud(&self) -> Option<Cloud> {
        self.cloud
    }

    /// `<authority>/<tenant>/oauth2/v2.0/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/authorize", self.base, self.tenant)
    }

    /// `<authority>/<tenant>/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant)
    }

    /// `<authority>/<tenant>/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/devicecode", self.base, self.tenant)
    }

    /// `<authority>/<tenant>/discovery/v2.0/keys`: the tenant's signing keys (JWKS).
    pub fn jwks_url(&self) -> String {
        format!("{}/{}/discovery/v2.0/keys", self.base, self.tenant)
    }

    /// Whether `iss` (the RFC 9207 parameter of a callback) comes from this authority's
    /// origin. Checked so that a response from another server cannot be mixed in.
    pub fn issued(&self, iss: &str) -> bool {
        let origin = |u: &str| Url::parse(u).ok().map(|u| u.origin());
        matches!((origin(&self.base), origin(iss)), (Some(a), Some(b)) if a == b)
    }
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Authority({}/{})", self.base, self.tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_microsoft_shaped() {
        let a = Authority::new("https://login.microsoftonline.com/", "contoso.com").unwrap();
        assert_eq!(
            a.token_url(),
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"
        );
        assert_eq!(
            a.authorize_url(),
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize"
        );
        assert_eq!(
            a.device_code_url(),
            "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/devicecode"
        );
        assert_eq!(a.cloud(), Some(Cloud::Public));
        assert!(!a.is_multi_tenant());
        assert!(Authority::new(DEFAULT_AUTHORITY, "Organizations")
            .unwrap()
            .is_multi_tenant());
        let local = Authority::new("http://127.0.0.1:18090", "test-tenant").unwrap();
        assert_eq!(local.cloud(), None);
        assert!(local.issued("http://127.0.0.1:18090/test-tenant"));
        assert!(!local.issued("http://127.0.0.1:18099/test-tenant"));
    }

    #[test]
    fn refuses_bad_authorities_and_tenants() {
        for (base, tenant) in [
            ("http://login.microsoftonline.com", "t"),
            ("ftp://x", "t"),
            ("https://u:p@login.microsoftonline.com", "t"),
            ("https://login.microsoftonline.com?x", "t"),
            ("not a url", "t"),
            (DEFAULT_AUTHORITY, ""),
            (DEFAULT_AUTHORITY, "a/b"),
            (DEFAULT_AUTHORITY, "a?b"),
            (DEFAULT_AUTHORITY, "..x"),
        ] {
            assert!(Authority::new(base, tenant).is_err(), "{base} {tenant}");
        }
    }
}
