//! The Key Vault 401 bearer challenge:
//! `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`
//! (newer vaults may add `scope="https://vault.azure.net/.default"`; older ones say
//! `authorization_uri`).
//!
//! It tells which tenant and which audience the vault wants. We use it to explain a refusal
//! (wrong tenant, wrong cloud) and otherwise to renew the token once; we never follow it to
//! a different sign-in server, which would let a vault choose where credentials go.

/// The parameters of a bearer challenge that we use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `authorization` / `authorization_uri`: the authority and tenant.
    pub authorization: Option<String>,
    /// `resource`: the token audience.
    pub resource: Option<String>,
    /// `scope`, if sent.
    pub scope: Option<String>,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` value; `None` unless it is a Bearer challenge.
    pub fn parse(header: &str) -> Option<Challenge> {
        let rest = header.trim();
        let (scheme, params) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut c = Challenge::default();
        for (k, v) in params_of(params) {
            match k.to_ascii_lowercase().as_str() {
                "authorization" | "authorization_uri" => c.authorization = Some(v),
                "resource" => c.resource = Some(v),
                "scope" => c.scope = Some(v),
                _ => {}
            }
        }
        Some(c)
    }

    /// The tenant named by `authorization` (its last path segment).
    pub fn tenant(&self) -> Option<&str> {
        let a = self.authorization.as_deref()?.trim_end_matches('/');
        let t = a.rsplit('/').next()?;
        (!t.is_empty() && !t.contains(':')).then_some(t)
    }

    /// The audience the vault wants: `resource`, else `scope` without `/.default`.
    pub fn audience(&self) -> Option<&str> {
        self.resource
            .as_deref()
            .or_else(|| {
                self.scope
                    .as_deref()
                    .map(|s| s.trim_end_matches("/.default"))
            })
            .map(|s| s.trim_end_matches('/'))
    }
}

/// `k="v", k2=v2` pairs (quoted strings may hold commas and `\"`).
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n)
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_vault_challenges() {
        let c = Challenge::parse(r#"Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#).unwrap();
        assert_eq!(c.tenant(), Some("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert_eq!(c.audience(), Some("https://vault.azure.net"));
        let c = Challenge::parse(r#"Bearer authorization_uri="https://login.windows.net/contoso.com/",scope="https://vault.azure.cn/.default""#).unwrap();
        assert_eq!(c.tenant(), Some("contoso.com"));
        assert_eq!(c.audience(), Some("https://vault.azure.cn"));
        let c =
            Challenge::parse(r#"bearer realm="a,b", resource=https://vault.azure.net"#).unwrap();
        assert_eq!(c.resource.as_deref(), Some("https://vault.azure.net"));
        assert_eq!(c.tenant(), None);
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), None);
        assert_eq!(Challenge::parse("Bearer").unwrap(), Challenge::default());
    }
}
