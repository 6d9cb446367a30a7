//! Several instances on one database: the login rate limit is counted in the database, so all
//! instances share it; the client address comes from a proxy header only when the peer is a
//! configured trusted proxy.

use std::sync::Arc;

use avtal::config::{ProxyNet, Settings};
use avtal::domain::access::Role;
use avtal::registry::Registry;
use avtal::web::{self, AppState};

use crate::helpers::{Backend, TestApp, spawn_with, test_settings};

/// Another instance of the service on the app's database: its own pool, router and port.
async fn second_instance(app: &TestApp) -> String {
    let settings: Settings = (*app.registry.settings).clone();
    let conn = avtal::db::connect(&settings)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let registry = Registry::new(conn, Arc::new(settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = format!(
        "http://{}",
        listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
    );
    tokio::spawn(web::server::serve(
        listener,
        web::router(AppState { registry }),
        std::time::Duration::from_secs(10),
        std::future::pending(),
    ));
    address
}

/// A login attempt at `address` with a fresh form token, optionally through a proxy header.
async fn login_at(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> u16 {
    let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(xff) = forwarded_for {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            reqwest::header::HeaderValue::from_str(xff).unwrap_or_else(|e| panic!("{e}")),
        );
        client = client.default_headers(h);
    }
    let client = client.build().unwrap_or_else(|e| panic!("client: {e}"));
    let (cookie, token) = app.login_token().await;
    client
        .post(format!("{address}/login"))
        .header("cookie", cookie)
        .form(&[("email", email), ("password", password), ("csrf", &token)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"))
        .status()
        .as_u16()
}

async fn two_instances_on_one_database_share_the_login_limit(app: TestApp) {
    let password = "ett långt lösenord";
    app.create_user("delad@test.example", Role::Admin, None, password)
        .await;
    let other = second_instance(&app).await;
    // Five failures, spread over both instances: three here, two there.
    for address in [&app.address, &app.address, &app.address, &other, &other] {
        let status = login_at(&app, address, "delad@test.example", "fel", None).await;
        assert_eq!(status, 401, "a wrong password at {address}");
    }
    for address in [&app.address, &other] {
        let status = login_at(&app, address, "delad@test.example", password, None).await;
        assert_eq!(
            status, 429,
            "{address} let the account try again after five failures on two instances"
        );
    }
}

/// An app on a fresh database whose trusted proxies are `trusted`.
async fn spawn_behind(backend: Backend, trusted: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut settings = test_settings(backend, dir.path()).await;
    settings.trusted_proxies = trusted
        .iter()
        .map(|s| ProxyNet::parse(s).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    spawn_with(backend, settings, dir).await
}

/// Fails 20 logins, each on another account and naming another client in the proxy header.
async fn twenty_failures_from_forged_clients(app: &TestApp) {
    for i in 0..avtal::registry::accounts::MAX_FAILURES_PER_ADDRESS {
        let client = format!("203.0.113.{i}");
        let email = format!("finns-inte-{i}@test.example");
        let status = login_at(app, &app.address, &email, "fel", Some(&client)).await;
        assert_eq!(status, 401, "attempt {i}");
    }
}

async fn the_proxy_header_of_an_untrusted_peer_is_ignored(backend: Backend) {
    // No trusted proxies: the header is the client's own text, and all 20 failures count for
    // the peer (127.0.0.1), which is then stopped whatever header it sends.
    let app = spawn_behind(backend, &[]).await;
    twenty_failures_from_forged_clients(&app).await;
    let status = login_at(
        &app,
        &app.address,
        "ny@test.example",
        "fel",
        Some("198.51.100.1"),
    )
    .await;
    assert_eq!(status, 429, "a forged X-Forwarded-For escaped the limit");

    // Behind a trusted proxy on 127.0.0.1 each client named by it counts on its own.
    let app = spawn_behind(backend, &["127.0.0.1"]).await;
    twenty_failures_from_forged_clients(&app).await;
    let status = login_at(
        &app,
        &app.address,
        "ny@test.example",
        "fel",
        Some("198.51.100.1"),
    )
    .await;
    assert_eq!(status, 401, "another client behind the proxy was stopped");
    for i in 0..avtal::registry::accounts::MAX_FAILURES_PER_ADDRESS {
        let email = format!("x{i}@test.example");
        let status = login_at(&app, &app.address, &email, "fel", Some("198.51.100.2")).await;
        assert_eq!(status, 401, "attempt {i} of one client");
    }
    let status = login_at(
        &app,
        &app.address,
        "y@test.example",
        "fel",
        Some("198.51.100.2"),
    )
    .await;
    assert_eq!(
        status, 429,
        "the client named by the trusted proxy was not limited"
    );
}

crate::on_both_backends!(two_instances_on_one_database_share_the_login_limit);

mod proxy_on_sqlite {
    #[tokio::test]
    async fn the_proxy_header_of_an_untrusted_peer_is_ignored() {
        super::the_proxy_header_of_an_untrusted_peer_is_ignored(crate::helpers::Backend::Sqlite)
            .await;
    }
}

mod proxy_on_postgres {
    #[tokio::test]
    async fn the_proxy_header_of_an_untrusted_peer_is_ignored() {
        super::the_proxy_header_of_an_untrusted_peer_is_ignored(crate::helpers::Backend::Postgres)
            .await;
    }
}
