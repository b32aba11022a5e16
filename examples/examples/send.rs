//! `send`: a tiny request-sending tool. It resolves `{{vault:NAME}}` references in the URL,
//! headers and body, enforces each secret's allowed domains against the request's host, sends
//! the request and prints the status and the body.
//!
//! ```text
//! cargo run --example send -- [--config FILE] [-L] [--encode] [-X METHOD] [-H 'K: V']... [-d BODY] URL
//! ```
//!
//! The references are resolved by `vault_core::middleware::VaultMiddleware`, in a
//! `reqwest-middleware` client: what any reqwest-based tool can do in one line.
//!
//! Redirects are not followed (the 3xx answer is printed) unless `-L`: then at most 10 are,
//! and only while every secret the request carries may go to the new host (else nothing is
//! sent there, and the exit status is 1). `--encode` writes values encoded for where they
//! sit (percent-encoded in the URL, form- or JSON-escaped in bodies of that `Content-Type`).
//!
//! Like request tools, it is lenient: a reference that cannot be resolved stays as written,
//! and a warning naming the secret and the reason goes to stderr. `--strict` refuses to send
//! instead. Exit status: 0 when a response arrived, 1 when the request failed (or, with
//! `--strict`, a reference was unresolved), 2 for bad usage or a bad config file.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use vault_core::http::HttpOptions;
use vault_core::middleware::{ResolveReport, VaultMiddleware};
use vault_core::{Config, Encoding, HttpRequest, Mode, Outcome};
use vault_examples::{build_resolver, CliInteraction};

const USAGE: &str = "usage: send [--config FILE] [--strict] [--no-browser] [-L] [--encode] [-X METHOD] [-H 'K: V']... [-d BODY] URL";

struct Args {
    config: String,
    strict: bool,
    no_browser: bool,
    follow: bool,
    encode: bool,
    request: HttpRequest,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut config = "vault.toml".to_owned();
    let (mut strict, mut no_browser, mut follow, mut encode) = (false, false, false, false);
    let mut method = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut url = None;
    while let Some(a) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{a} needs {what}"));
        match a.as_str() {
            "--config" | "-c" => config = value("a file")?,
            "--strict" => strict = true,
            "--no-browser" => no_browser = true,
            "-L" | "--location" => follow = true,
            "--encode" => encode = true,
            "-X" | "--request" => method = Some(value("a METHOD")?),
            "-H" | "--header" => {
                let h = value("'Name: value'")?;
                let (k, v) = h
                    .split_once(':')
                    .ok_or(format!("header `{h}` is not `Name: value`"))?;
                if k.trim().is_empty() {
                    return Err(format!("header `{h}` has no name"));
                }
                headers.push((k.trim().to_owned(), v.trim_start().to_owned()));
            }
            "-d" | "--data" => body = Some(value("a BODY")?),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`")),
            _ if url.is_none() => url = Some(a),
            _ => return Err(format!("unexpected argument `{a}`")),
        }
    }
    let url = url.ok_or("no URL given")?;
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    Ok(Args {
        config,
        strict,
        no_browser,
        follow,
        encode,
        request: HttpRequest {
            method,
            url,
            headers,
            body,
        },
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(m) if m.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(m) => {
            eprintln!("send: {m}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("send: {e}");
            return ExitCode::from(2);
        }
    };
    let mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    let interaction = Arc::new(CliInteraction::new(args.no_browser));
    let resolver = match build_resolver(&config, interaction, mode) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("send: {e}");
            return ExitCode::from(2);
        }
    };
    let method = match reqwest::Method::from_bytes(args.request.method.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            eprintln!("send: `{}` is not an HTTP method", args.request.method);
            return ExitCode::from(2);
        }
    };
    // A reference in the host makes the written URL unparsable: resolve that URL first (only
    // secrets without allowed domains can be used there, as the host is not known yet).
    let url = match url::Url::parse(&args.request.url) {
        Ok(u) => u,
        Err(_) => match resolver.resolve(&args.request.url, None).await {
            Ok(r) => match url::Url::parse(r.expose()) {
                Ok(u) => u,
                // The URL may hold a secret: say what is wrong without echoing it.
                Err(e) => {
                    eprintln!("send: the URL is not valid: {e}");
                    return ExitCode::from(2);
                }
            },
            Err(e) => {
                eprintln!("send: not sent: {e}");
                return ExitCode::from(1);
            }
        },
    };

    // The client itself never follows redirects: the middleware does (with -L), checking the
    // secrets' allowed domains against every new host.
    let http = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("send: cannot build the HTTP client: {e}");
            return ExitCode::from(1);
        }
    };
    let options = HttpOptions::default()
        .encoding(if args.encode {
            Encoding::Contextual
        } else {
            Encoding::Raw
        })
        .max_redirects(if args.follow { 10 } else { 0 });
    let client = reqwest_middleware::ClientBuilder::new(http)
        .with(VaultMiddleware::with_options(resolver, options))
        .build();
    let mut request = client.request(method, url);
    for (name, value) in &args.request.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &args.request.body {
        request = request.body(body.clone());
    }
    let request = match request.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("send: bad request: {}", e.without_url());
            return ExitCode::from(2);
        }
    };
    let mut extensions = http::Extensions::new();
    let sent = client
        .execute_with_extensions(request, &mut extensions)
        .await;
    if let Some(ResolveReport(report)) = extensions.get::<ResolveReport>() {
        for e in report.entries() {
            if let Outcome::Unresolved(err) = &e.outcome {
                eprintln!(
                    "send: warning: {} left unresolved in the {}: {err}",
                    e.name, e.field
                );
            }
        }
    }
    match sent {
        Ok(response) => {
            let status = response.status();
            println!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            match response.text().await {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("send: reading the response failed: {}", e.without_url());
                    ExitCode::from(1)
                }
            }
        }
        Err(reqwest_middleware::Error::Middleware(e)) => {
            eprintln!("send: not sent: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            // `without_url`: the URL may carry a resolved secret.
            eprintln!("send: the request failed: {}", e.without_url());
            ExitCode::from(1)
        }
    }
}
