//! Slow and oversized requests, sent over raw TCP on loopback: headers that never end are cut
//! off within the limit, a declared body over the limit gets 413 before it is sent, and a body
//! that stops arriving fails within its limit.

use std::time::{Duration, Instant};

use avtal::domain::access::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp, spawn_with, test_settings, user_with_token};

/// An app whose clients get one second for the headers and one for the body.
async fn spawn_strict(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut settings = test_settings(backend, dir.path()).await;
    settings.header_timeout_secs = 1;
    settings.body_timeout_secs = 1;
    spawn_with(backend, settings, dir).await
}

/// Writes `head` and reads until the server closes the connection (or `wait` passes): what was
/// read, and how long it took.
async fn exchange(app: &TestApp, head: &str, wait: Duration) -> (String, Duration) {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    // A complete response is enough: the test is about when it came.
                    if String::from_utf8_lossy(&got).contains("\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server neither answered nor closed within {wait:?}; got {:?}",
        String::from_utf8_lossy(&got)
    );
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

async fn admin_token(app: &TestApp) -> String {
    user_with_token(&app.registry, "raw@test.example", Role::Admin, None)
        .await
        .1
}

async fn unfinished_headers_are_cut_off_within_the_limit(app: TestApp) {
    let (got, took) = exchange(
        &app,
        "GET /health HTTP/1.1\r\nHost: avtal\r\nX-Slow: ",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        !got.starts_with("HTTP/1.1 200"),
        "unfinished headers were answered: {got}"
    );
    assert!(
        took < Duration::from_secs(3),
        "held open for {took:?} with a one-second limit"
    );
}

async fn a_declared_body_over_the_limit_gets_413_before_it_is_sent(app: TestApp) {
    let token = admin_token(&app).await;
    for (what, path, auth) in [
        (
            "an API body",
            "/api/v1/agreements",
            format!("Authorization: Bearer {token}\r\n"),
        ),
        (
            "a report file through a link",
            "/l/not-a-token/report",
            String::new(),
        ),
        ("a form without a session", "/agreements/new", String::new()),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: avtal\r\n{auth}Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
        );
        let (got, took) = exchange(&app, &head, Duration::from_secs(5)).await;
        assert!(got.starts_with("HTTP/1.1 413"), "{what}: {got}");
        assert!(took < Duration::from_secs(2), "{what}: 413 took {took:?}");
    }
    // Within the limit the same request is read and answered as usual.
    let head = format!(
        "POST /api/v1/agreements HTTP/1.1\r\nHost: avtal\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let (got, _) = exchange(&app, &head, Duration::from_secs(5)).await;
    // `{}` is JSON without the agreement's fields: the 422 naming the first missing one.
    assert!(got.starts_with("HTTP/1.1 422"), "{got}");
}

async fn a_body_that_stops_arriving_fails_within_the_limit(app: TestApp) {
    let token = admin_token(&app).await;
    let head = format!(
        "POST /api/v1/agreements HTTP/1.1\r\nHost: avtal\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"agree"
    );
    let (got, took) = exchange(&app, &head, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 4"), "{got}");
    assert!(
        took < Duration::from_secs(3),
        "a stalled body held the request for {took:?} with a one-second limit"
    );
}

mod on_sqlite {
    use super::*;

    #[tokio::test]
    async fn unfinished_headers_are_cut_off_within_the_limit() {
        super::unfinished_headers_are_cut_off_within_the_limit(spawn_strict(Backend::Sqlite).await)
            .await;
    }

    #[tokio::test]
    async fn a_declared_body_over_the_limit_gets_413_before_it_is_sent() {
        super::a_declared_body_over_the_limit_gets_413_before_it_is_sent(
            spawn_strict(Backend::Sqlite).await,
        )
        .await;
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_fails_within_the_limit() {
        super::a_body_that_stops_arriving_fails_within_the_limit(
            spawn_strict(Backend::Sqlite).await,
        )
        .await;
    }
}
