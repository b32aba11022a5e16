//! Allowed-domain matching, checked against the `url` crate as the reference URL parser:
//! whenever a pattern allows a request URL, the URL's host (as `url` parses it) is the
//! pattern's host or, for `*.` patterns, one of its subdomains.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vault_core::{DomainPattern, RequestHost};

fn bare(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fuzz_target!(|input: (&str, &str)| {
    let (pattern, url) = input;
    let Ok(parsed) = url::Url::parse(url) else {
        assert!(RequestHost::parse_url(url).is_err());
        return;
    };
    let Ok(host) = RequestHost::from_url(&parsed) else {
        return;
    };
    let Ok(pattern) = DomainPattern::parse(pattern) else {
        return;
    };
    if pattern.allows(&host) {
        let reference = bare(parsed.host_str().expect("a host was found"));
        let shown = pattern.to_string();
        let (wild, want) = match shown.strip_prefix("*.") {
            Some(rest) => (true, bare(rest)),
            None => (false, bare(&shown)),
        };
        let ok = if wild {
            reference.ends_with(&format!(".{want}"))
        } else {
            reference == want
        };
        assert!(ok, "`{shown}` allowed host `{reference}` of `{url}`");
    }
});
