//! Which URL each service call goes to, and which region it is signed for.
//!
//! By default the endpoint is AWS's own for the region and partition (the secret ARN's for
//! Secrets Manager, the configured region for STS, the partition's global endpoint for IAM).
//! An explicit endpoint overrides it, per service or for all: for tests, private endpoints and
//! local emulators. Endpoints must be HTTPS, except on loopback hosts.

use std::net::IpAddr;

use url::Url;
use vault_core::{Error, ErrorKind};

use crate::partition::Partition;
use crate::PROVIDER_ID;

/// An AWS service this crate calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Secrets Manager (JSON 1.1 protocol).
    SecretsManager,
    /// Security Token Service (query protocol).
    Sts,
    /// Identity and Access Management (query protocol), for MFA device discovery.
    Iam,
}

impl Service {
    /// The service name in the SigV4 credential scope.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Sts => "sts",
            Service::Iam => "iam",
        }
    }

    /// The suffix of its `AWS_ENDPOINT_URL_<SERVICE>` variable.
    pub fn env_suffix(self) -> &'static str {
        match self {
            Service::SecretsManager => "SECRETS_MANAGER",
            Service::Sts => "STS",
            Service::Iam => "IAM",
        }
    }
}

/// A resolved endpoint: where to send, and the region in the credential scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL requests are POSTed to.
    pub url: Url,
    /// The region the request is signed for.
    pub signing_region: String,
}

/// Endpoint overrides. Empty by default: AWS's own endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    all: Option<Url>,
    secrets_manager: Option<Url>,
    sts: Option<Url>,
    iam: Option<Url>,
}

impl Endpoints {
    /// Sends every service to `url` (like `AWS_ENDPOINT_URL`).
    pub fn all(mut self, url: Url) -> Self {
        self.all = Some(url);
        self
    }

    /// Sends one service to `url` (like `AWS_ENDPOINT_URL_<SERVICE>`); wins over [`Endpoints::all`].
    pub fn service(mut self, service: Service, url: Url) -> Self {
        *self.slot(service) = Some(url);
        self
    }

    /// Checks every override with [`check_endpoint_url`]: https, or http on loopback only.
    pub fn check(&self) -> Result<(), Error> {
        for url in [&self.all, &self.secrets_manager, &self.sts, &self.iam]
            .into_iter()
            .flatten()
        {
            check_endpoint_url(url.as_str())?;
        }
        Ok(())
    }

    fn slot(&mut self, service: Service) -> &mut Option<Url> {
        match service {
            Service::SecretsManager => &mut self.secrets_manager,
            Service::Sts => &mut self.sts,
            Service::Iam => &mut self.iam,
        }
    }

    fn get(&self, service: Service) -> Option<&Url> {
        let specific = match service {
            Service::SecretsManager => &self.secrets_manager,
            Service::Sts => &self.sts,
            Service::Iam => &self.iam,
        };
        specific.as_ref().or(self.all.as_ref())
    }

    /// Where a call to `service` in `region` goes.
    pub fn resolve(&self, service: Service, region: &str) -> Endpoint {
        let partition = Partition::of_region(region);
        let (host, signing_region) = match service {
            Service::Iam => {
                let (host, r) = partition.iam_endpoint();
                (host.to_owned(), r.to_owned())
            }
            _ => (
                format!(
                    "{}.{region}.{}",
                    service.signing_name(),
                    partition.dns_suffix()
                ),
                region.to_owned(),
            ),
        };
        let url = match self.get(service) {
            Some(u) => u.clone(),
            None => Url::parse(&format!("https://{host}/")).unwrap_or_else(|_| {
                // Region names are checked before they get here; keep a valid URL regardless.
                Url::parse("https://invalid.invalid/").expect("static URL")
            }),
        };
        Endpoint {
            url,
            signing_region,
        }
    }
}

/// Checks an endpoint URL: `https`, or `http` on a loopback host (`127.0.0.0/8`, `::1`,
/// `localhost`); no user info, query or fragment. Signed requests carry credentials' proof,
/// and a secret's value comes back: neither may cross a network in clear text.
pub fn check_endpoint_url(text: &str) -> Result<Url, Error> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "endpoint `{}`: {why}",
                vault_core::url_text::for_message(text)
            ),
        )
        .with_provider(PROVIDER_ID)
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(bad("no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "plain http is only allowed to a loopback host; use https",
            ))
        }
        other => return Err(bad(&format!("scheme `{other}` is not http(s)"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user info is not allowed"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment is not allowed"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoints_per_partition() {
        let e = Endpoints::default();
        let sm = e.resolve(Service::SecretsManager, "eu-west-1");
        assert_eq!(
            sm.url.as_str(),
            "https://secretsmanager.eu-west-1.amazonaws.com/"
        );
        assert_eq!(sm.signing_region, "eu-west-1");
        let sts = e.resolve(Service::Sts, "cn-north-1");
        assert_eq!(sts.url.as_str(), "https://sts.cn-north-1.amazonaws.com.cn/");
        let iam = e.resolve(Service::Iam, "eu-west-1");
        assert_eq!(iam.url.as_str(), "https://iam.amazonaws.com/");
        assert_eq!(iam.signing_region, "us-east-1");
        let gov = e.resolve(Service::Iam, "us-gov-east-1");
        assert_eq!(gov.url.as_str(), "https://iam.us-gov.amazonaws.com/");
        assert_eq!(gov.signing_region, "us-gov-west-1");
    }

    #[test]
    fn overrides_keep_the_signing_region() {
        let all = Url::parse("http://127.0.0.1:5000").unwrap();
        let sts = Url::parse("http://127.0.0.1:6000").unwrap();
        let e = Endpoints::default()
            .all(all.clone())
            .service(Service::Sts, sts.clone());
        let sm = e.resolve(Service::SecretsManager, "eu-west-1");
        assert_eq!((sm.url, sm.signing_region.as_str()), (all, "eu-west-1"));
        assert_eq!(e.resolve(Service::Sts, "us-east-1").url, sts);
    }

    #[test]
    fn https_only_except_loopback() {
        for ok in [
            "https://secretsmanager.example.com",
            "http://127.0.0.1:5000",
            "http://127.1.2.3",
            "http://[::1]:5000/",
            "http://localhost:5000",
        ] {
            assert!(check_endpoint_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://10.0.0.1:5000", "loopback"),
            ("ftp://127.0.0.1", "scheme"),
            ("https://u:p@example.com", "user info"),
            ("https://example.com/?a=b", "query"),
            ("not a url", "not a URL"),
        ] {
            let e = check_endpoint_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig);
            assert!(e.message().contains(why), "{bad}: {e}");
        }
    }
}
