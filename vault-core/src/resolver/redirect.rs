//! Whether the secrets a request received may follow it to another URL (a redirect).

use crate::domain::RequestHost;
use crate::error::{Error, ErrorKind};
use crate::report::{Outcome, Report};

use super::Resolver;

impl Resolver {
    /// Checks that every secret substituted in a request (the resolved entries of its
    /// `report`) may be sent to `url`'s host: for an HTTP client about to follow a redirect
    /// with the resolved headers and body. The error names the first secret that may not go
    /// there; a URL that is not http(s) or a secret no longer in the vault is refused too.
    pub fn check_redirect(&self, report: &Report, url: &str) -> Result<(), Error> {
        let resolved = || {
            report
                .entries()
                .iter()
                .filter(|e| matches!(e.outcome, Outcome::Resolved | Outcome::Empty))
        };
        if resolved().next().is_none() {
            return Ok(());
        }
        let host = RequestHost::parse_url(url).map_err(|e| {
            Error::new(
                ErrorKind::DomainNotAllowed,
                format!("not following a redirect carrying secrets: {}", e.message()),
            )
        })?;
        let secrets = self.inner.read();
        for e in resolved() {
            let allowed = secrets
                .get(&*e.name)
                .is_some_and(|p| p.secret.domains().allows(Some(&host)));
            if !allowed {
                return Err(Error::new(
                    ErrorKind::DomainNotAllowed,
                    format!(
                        "not following a redirect to {host}: the request carries this secret (in the {}) and its allowed domains do not include that host",
                        e.field
                    ),
                )
                .with_secret(&*e.name));
            }
        }
        Ok(())
    }
}
