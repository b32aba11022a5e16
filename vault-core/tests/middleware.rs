//! The reqwest middleware and the tower layer against a real local HTTP server (wiremock):
//! they resolve, mark headers sensitive, follow allowed redirects and refuse the one that
//! would carry a secret to a host its allowed domains do not allow.
#![cfg(all(feature = "reqwest-middleware", feature = "tower"))]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Extensions, HeaderMap};
use tower_layer::Layer;
use tower_service::Service;
use vault_core::http::HttpOptions;
use vault_core::middleware::VaultMiddleware;
use vault_core::tower::VaultLayer;
use vault_core::{AllowedDomains, ErrorKind, Resolver, Vault, VaultSecret};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `token` may go to 127.0.0.1 only; the redirect target `localhost` is another host.
fn resolver() -> Resolver {
    Resolver::builder(
        Vault::new().with(
            "token",
            VaultSecret::local("s3cr&t /x")
                .allowed_domains(AllowedDomains::parse(["127.0.0.1"]).unwrap()),
        ),
    )
    .build()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Records the headers each request reaches the network with.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<HeaderMap>>>);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Capture {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.0.lock().unwrap().push(req.headers().clone());
        next.run(req, extensions).await
    }
}

fn client(capture: &Capture, http: reqwest::Client) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(http)
        .with(VaultMiddleware::with_options(
            resolver(),
            HttpOptions::contextual(),
        ))
        .with(capture.clone())
        .build()
}

fn vault_error(e: &reqwest_middleware::Error) -> vault_core::Error {
    match e {
        reqwest_middleware::Error::Middleware(e) => e
            .downcast_ref::<vault_core::Error>()
            .expect("a vault_core::Error")
            .clone(),
        other => panic!("not a middleware error: {other}"),
    }
}

#[tokio::test]
async fn middleware_resolves_and_marks_headers_sensitive() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/items/s3cr%26t%20%2Fx"))
        .and(query_param("key", "s3cr&t /x"))
        .and(header("authorization", "Bearer s3cr&t /x"))
        .and(body_string("key=s3cr%26t+%2Fx"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let capture = Capture::default();
    let response = client(&capture, no_redirects())
        .post(format!(
            "{}/items/{{{{vault:token}}}}?key={{{{vault:token}}}}",
            server.uri()
        ))
        .header("Authorization", "Bearer {{vault:token}}")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Plain", "plain")
        .body("key={{vault:token}}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = capture.0.lock().unwrap();
    assert!(seen[0]["authorization"].is_sensitive());
    assert!(!seen[0]["x-plain"].is_sensitive());
}

#[tokio::test]
async fn middleware_follows_an_allowed_redirect_and_refuses_a_cross_domain_one() {
    let server = MockServer::start().await;
    let port = server.address().port();
    Mock::given(path("/same"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/landed"))
        .mount(&server)
        .await;
    Mock::given(path("/landed"))
        .and(header("x-key", "s3cr&t /x"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/away"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("http://localhost:{port}/stolen").as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/stolen"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let capture = Capture::default();
    let client = client(&capture, no_redirects());

    let ok = client
        .get(format!("{}/same", server.uri()))
        .header("x-key", "{{vault:token}}")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let e = client
        .get(format!("{}/away", server.uri()))
        .header("x-key", "{{vault:token}}")
        .send()
        .await
        .unwrap_err();
    let e = vault_error(&e);
    assert_eq!(e.kind(), ErrorKind::DomainNotAllowed);
    assert_eq!(e.secret(), Some("token"));
    assert!(!e.to_string().contains("s3cr"), "{e}");

    // A request without secrets follows a redirect to another host.
    Mock::given(path("/plain"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("http://localhost:{port}/fine").as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(path("/fine"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let plain = client
        .get(format!("{}/plain", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
}

#[tokio::test]
async fn middleware_fails_loudly_when_the_client_followed_a_redirect_itself() {
    let server = MockServer::start().await;
    let port = server.address().port();
    Mock::given(path("/away"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("http://localhost:{port}/elsewhere").as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let e = client(&Capture::default(), reqwest::Client::new())
        .get(format!("{}/away", server.uri()))
        .header("x-key", "{{vault:token}}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(vault_error(&e).kind(), ErrorKind::DomainNotAllowed);
}

/// A tower service sending `http::Request<Vec<u8>>` with reqwest (no redirects followed),
/// recording the headers it was given.
#[derive(Clone)]
struct ReqwestService {
    client: reqwest::Client,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Service<http::Request<Vec<u8>>> for ReqwestService {
    type Response = http::Response<Vec<u8>>;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Vec<u8>>) -> Self::Future {
        self.seen.lock().unwrap().push(req.headers().clone());
        let client = self.client.clone();
        Box::pin(async move {
            let req = reqwest::Request::try_from(req)?;
            let res = client.execute(req).await?;
            let mut out = http::Response::builder().status(res.status());
            for (k, v) in res.headers() {
                out = out.header(k, v);
            }
            let body = res.bytes().await?.to_vec();
            Ok(out.body(body).unwrap())
        })
    }
}

#[tokio::test]
async fn tower_layer_resolves_marks_sensitive_and_refuses_cross_domain_redirect() {
    let server = MockServer::start().await;
    let port = server.address().port();
    Mock::given(method("POST"))
        .and(path("/json"))
        .and(header("authorization", "Bearer s3cr&t /x"))
        .and(body_string(r#"{"k": "s3cr&t /x"}"#))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/away"))
        .respond_with(ResponseTemplate::new(308).insert_header(
            "location",
            format!("http://localhost:{port}/stolen").as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/stolen"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let inner = ReqwestService {
        client: no_redirects(),
        seen: seen.clone(),
    };
    let mut service = VaultLayer::with_options(resolver(), HttpOptions::contextual()).layer(inner);

    let req = http::Request::post(format!("{}/json", server.uri()))
        .header("authorization", "Bearer {{vault:token}}")
        .header("content-type", "application/json")
        .body(br#"{"k": "{{vault:token}}"}"#.to_vec())
        .unwrap();
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .unwrap();
    let res = service.call(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.body(), b"ok");
    assert!(seen.lock().unwrap()[0]["authorization"].is_sensitive());

    let req = http::Request::put(format!("{}/away", server.uri()))
        .header("x-key", "{{vault:token}}")
        .body(Vec::new())
        .unwrap();
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .unwrap();
    let e = service.call(req).await.unwrap_err();
    let e = e
        .downcast_ref::<vault_core::Error>()
        .expect("a vault_core::Error");
    assert_eq!(e.kind(), ErrorKind::DomainNotAllowed);
}
