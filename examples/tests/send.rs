//! The `send` example against a local HTTP server: references resolved before dispatch,
//! allowed domains enforced against the request's host.

mod common;

use common::{config, run, texts};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn resolves_then_sends() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/items"))
        .and(header("authorization", "Bearer tok-123"))
        .and(body_string(r#"{"user":"alice"}"#))
        .respond_with(ResponseTemplate::new(201).set_body_string("created"))
        .expect(1)
        .mount(&server)
        .await;
    let host = server.address().ip().to_string();
    let cfg = config(
        "send",
        &format!(
            "[secrets.token]\nvalue = \"tok-123\"\nallowed_domains = [\"{host}\"]\n\
             [secrets.user]\nvalue = \"alice\"\n"
        ),
    );
    let url = format!("{}/items", server.uri());
    let out = tokio::task::spawn_blocking(move || {
        run(
            "send",
            &[
                "--config",
                cfg.to_str().unwrap(),
                "-H",
                "Authorization: Bearer {{vault:token}}",
                "-d",
                r#"{"user":"{{vault:user}}"}"#,
                &url,
            ],
            &[],
        )
    })
    .await
    .unwrap();
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{e}");
    assert_eq!(o, "201 Created\ncreated\n");
}

#[tokio::test]
async fn a_restricted_secret_is_not_sent_to_another_host() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let cfg = config(
        "send-refused",
        "[secrets.token]\nvalue = \"tok-456\"\nallowed_domains = [\"api.example.com\"]\n",
    );
    let url = format!("{}/steal", server.uri());
    let cfg2 = cfg.clone();
    let url2 = url.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(
            "send",
            &[
                "--config",
                cfg2.to_str().unwrap(),
                "-H",
                "X-Token: {{vault:token}}",
                &url2,
            ],
            &[],
        )
    })
    .await
    .unwrap();
    let (_, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        e.contains("token left unresolved in the header x-token")
            && e.contains("domain not allowed"),
        "{e}"
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].headers.get("x-token").unwrap(),
        "{{vault:token}}"
    );

    // --strict refuses to send at all.
    let out = tokio::task::spawn_blocking(move || {
        run(
            "send",
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--strict",
                "-H",
                "X-Token: {{vault:token}}",
                &url,
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("not sent"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("stolen"))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/collect", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let host = server.address().ip().to_string();
    let cfg = config(
        "send-redirect",
        &format!("[secrets.token]\nvalue = \"tok-789\"\nallowed_domains = [\"{host}\"]\n"),
    );
    let url = format!("{}/start", server.uri());
    let out = tokio::task::spawn_blocking(move || {
        run(
            "send",
            &[
                "--config",
                cfg.to_str().unwrap(),
                "-H",
                "X-Token: {{vault:token}}",
                &url,
            ],
            &[],
        )
    })
    .await
    .unwrap();
    let (o, _) = texts(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(o.starts_with("307 "), "{o}");
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "followed the redirect"
    );
}

#[tokio::test]
async fn with_l_a_redirect_to_a_host_the_secret_may_not_go_to_is_refused() {
    let server = MockServer::start().await;
    let port = server.address().port();
    Mock::given(path("/start"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("http://localhost:{port}/collect").as_str(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/hop"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/landed"))
        .mount(&server)
        .await;
    Mock::given(path("/landed"))
        .and(header("x-token", "tok-l"))
        .respond_with(ResponseTemplate::new(200).set_body_string("landed"))
        .mount(&server)
        .await;
    let host = server.address().ip().to_string();
    let cfg = config(
        "send-follow",
        &format!("[secrets.token]\nvalue = \"tok-l\"\nallowed_domains = [\"{host}\"]\n"),
    );
    let run_to = |p: &str| {
        let (cfg, url) = (cfg.clone(), format!("{}{p}", server.uri()));
        tokio::task::spawn_blocking(move || {
            run(
                "send",
                &[
                    "--config",
                    cfg.to_str().unwrap(),
                    "-L",
                    "-H",
                    "X-Token: {{vault:token}}",
                    &url,
                ],
                &[],
            )
        })
    };
    let out = run_to("/hop").await.unwrap();
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{e}");
    assert_eq!(o, "200 OK\nlanded\n");

    let out = run_to("/start").await.unwrap();
    let (_, e) = texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(e.contains("not sent") && e.contains("localhost"), "{e}");
    assert!(!e.contains("tok-l"), "{e}");
    let collected = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/collect")
        .count();
    assert_eq!(collected, 0, "followed the redirect");
}
