//! Property tests of `Encoding::Contextual`: whatever the value, the resolved URL, form, JSON
//! or multipart body parses back to exactly that value, and the syntax around it is intact.

use proptest::prelude::*;
use secrecy::ExposeSecret;
use vault_core::{Encoding, HttpRequest, ResolvedRequest, Resolver, Vault, VaultSecret};

fn resolve(value: &str, request: HttpRequest) -> ResolvedRequest {
    let resolver = Resolver::builder(Vault::new().with("v", VaultSecret::local(value))).build();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(resolver.resolve_request_with(&request, Encoding::Contextual))
        .unwrap()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Any string, weighted towards the characters that carry meaning somewhere.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just('&'),
                Just('='),
                Just('+'),
                Just('#'),
                Just('?'),
                Just('/'),
                Just('%'),
                Just('"'),
                Just('\\'),
                Just('\n'),
                Just('\r'),
                Just(' '),
                Just('{'),
                Just('}'),
                Just('.'),
                Just('\u{0}'),
                Just('é'),
                Just('😀'),
                Just('a'),
            ],
            0..24
        )
        .prop_map(|c| c.into_iter().collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn url_path_segment_and_query_value_parse_back(v in value()) {
        prop_assume!(v != "." && v != "..");
        let r = resolve(&v, HttpRequest::new(
            "GET",
            "https://api.example.com/p/{{vault:v}}/end?q={{vault:v}}&r=1#{{vault:v}}",
        ));
        prop_assert!(r.report.is_complete());
        let url = url::Url::parse(r.url.expose_secret()).unwrap();
        prop_assert_eq!(url.host_str(), Some("api.example.com"));
        let segments: Vec<&str> = url.path_segments().unwrap().collect();
        prop_assert_eq!(segments.len(), 3);
        prop_assert_eq!(segments[0], "p");
        prop_assert_eq!(decode(segments[1]), v.clone());
        prop_assert_eq!(segments[2], "end");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        prop_assert_eq!(pairs, vec![("q".to_owned(), v.clone()), ("r".to_owned(), "1".to_owned())]);
        prop_assert_eq!(decode(url.fragment().unwrap()), v);
    }

    #[test]
    fn form_body_parses_back(v in value()) {
        let r = resolve(&v, HttpRequest::new("POST", "https://api.example.com/")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("a={{vault:v}}&{{vault:v}}=b"));
        let body = r.body.unwrap();
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(body.expose_secret().as_bytes()).into_owned().collect();
        prop_assert_eq!(pairs, vec![("a".to_owned(), v.clone()), (v, "b".to_owned())]);
    }

    #[test]
    fn json_string_parses_back(v in value()) {
        let r = resolve(&v, HttpRequest::new("POST", "https://api.example.com/")
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"a": "x{{vault:v}}y", "b\"{{vault:v}}": [1, "{{vault:v}}"]}"#));
        let body = r.body.unwrap();
        let json: serde_json::Value = serde_json::from_str(body.expose_secret()).unwrap();
        prop_assert_eq!(json["a"].as_str().unwrap(), format!("x{v}y"));
        prop_assert_eq!(json[format!("b\"{v}")][1].as_str().unwrap(), v.as_str());
    }

    #[test]
    fn multipart_text_part_keeps_the_value_or_refuses_it(v in value()) {
        let boundary = "XyZ-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{{{{vault:v}}}}\r\n--{boundary}--\r\n"
        );
        let r = resolve(&v, HttpRequest::new("POST", "https://api.example.com/")
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(body));
        let out = r.body.unwrap();
        let out = out.expose_secret();
        if v.contains(&format!("--{boundary}")) {
            prop_assert!(!r.report.is_complete());
            prop_assert!(out.contains("{{vault:v}}"));
        } else {
            let start = out.find("\r\n\r\n").unwrap() + 4;
            let end = out.rfind(&format!("\r\n--{boundary}--")).unwrap();
            prop_assert_eq!(&out[start..end], v.as_str());
        }
    }
}

#[test]
fn dot_segments_are_refused_not_sent() {
    for v in [".", ".."] {
        let r = resolve(
            v,
            HttpRequest::new("GET", "https://api.example.com/p/{{vault:v}}/x"),
        );
        assert!(!r.report.is_complete());
        assert_eq!(
            r.url.expose_secret(),
            "https://api.example.com/p/{{vault:v}}/x"
        );
    }
    let r = resolve(
        ".",
        HttpRequest::new("GET", "https://api.example.com/p/a{{vault:v}}b"),
    );
    assert_eq!(r.url.expose_secret(), "https://api.example.com/p/a.b");
}

#[test]
fn raw_stays_raw() {
    let resolver = Resolver::builder(Vault::new().with("v", VaultSecret::local("a&b"))).build();
    let r = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(
            resolver.resolve_request(&HttpRequest::new("GET", "https://a.example/?q={{vault:v}}")),
        )
        .unwrap();
    assert_eq!(r.url.expose_secret(), "https://a.example/?q=a&b");
}
