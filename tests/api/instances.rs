//! Several instances on one database: the login rate limit is counted in the database, so all
//! instances share it; the client address comes from a proxy header only when the peer is a
//! configured trusted proxy; a token or session kept in one instance's memory is refused on every
//! instance as soon as it is revoked, its user disabled, its password changed or it is logged out;
//! a list's counts kept in one instance's memory follow every write made on the other at once.

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

/// The references and `total` of `GET /api/v1/agreements?{query}` at `address`.
async fn list_at(app: &TestApp, address: &str, query: &str) -> (Vec<String>, u64) {
    let r = app
        .client
        .get(format!("{address}/api/v1/agreements?{query}&limit=100"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(r.status().as_u16(), 200, "{query} at {address}");
    let body: serde_json::Value = r.json().await.unwrap_or_else(|e| panic!("json: {e}"));
    let refs = crate::helpers::references(&body);
    (refs, body["total"].as_u64().unwrap_or(u64::MAX))
}

async fn lists_follow_writes_made_on_the_other_instance_at_once(app: TestApp) {
    app.load_examples().await;
    let other = second_instance(&app).await;
    let both = [app.address.clone(), other.clone()];
    let queries = [
        "status=active",
        "q=lokalv%C3%A5rd",
        "q=Ljusglimt&status=active",
        "party=769990-0051",
    ];
    let mut before = Vec::new();
    for query in queries {
        // Each list twice on each instance: the second answer comes from the instance's memory.
        let first = list_at(&app, &app.address, query).await;
        for address in &both {
            for _ in 0..2 {
                assert_eq!(
                    list_at(&app, address, query).await,
                    first,
                    "{query} at {address}"
                );
            }
        }
        assert!(!first.0.is_empty(), "{query} lists something");
        before.push(first);
    }

    // A copy of AGR-2025-0004 stored through the other instance: listed at once on this one.
    let mut a = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    a["reference"] = serde_json::json!("AGR-2099-0001");
    let r = app
        .client
        .post(format!("{other}/api/v1/agreements"))
        .json(&a)
        .send()
        .await
        .unwrap_or_else(|e| panic!("post: {e}"));
    assert_eq!(r.status().as_u16(), 201, "the copy");
    for (query, (refs, total)) in queries.iter().zip(&before) {
        for address in &both {
            let (now, now_total) = list_at(&app, address, query).await;
            assert_eq!(
                now_total,
                total + 1,
                "{query} at {address} after the insert"
            );
            assert!(
                now.iter().any(|r| r == "AGR-2099-0001"),
                "{query} at {address}: {now:?} (was {refs:?})"
            );
        }
    }

    // The party renamed through this instance (no agreement row changes, only the search
    // index): the other instance no longer finds its agreements by the old name.
    let r = app.get("/api/v1/organisations/769990-0051").await;
    let mut org = r.body.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        org.as_object_mut().map(|o| o.remove(k));
    }
    org["name"] = serde_json::json!("Glansgruppen ekonomisk förening");
    let r = app
        .put(
            "/api/v1/organisations/769990-0051",
            &serde_json::json!({"version": r.body["version"], "organisation": org}),
        )
        .await;
    assert_eq!(r.status, 200, "rename: {}", r.body);
    for address in &both {
        assert_eq!(
            list_at(&app, address, "q=Ljusglimt&status=active").await,
            (Vec::new(), 0),
            "the old name at {address}"
        );
        let (refs, _) = list_at(&app, address, "q=Glansgruppen&status=active").await;
        assert!(refs.iter().any(|r| r == "AGR-2099-0001"), "{refs:?}");
    }
}

crate::on_both_backends!(
    two_instances_on_one_database_share_the_login_limit,
    lists_follow_writes_made_on_the_other_instance_at_once,
    ended_credentials_are_refused_at_once_on_every_instance,
);

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

/// The status of `GET path` at `address` with extra header `name: value`, without redirects.
async fn status_at(address: &str, path: &str, name: &str, value: &str) -> u16 {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
        .get(format!("{address}{path}"))
        .header(name, value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} at {address}: {e}"))
        .status()
        .as_u16()
}

/// Signs in at `address`; the session's `Cookie` header value and its CSRF token.
async fn session_at(app: &TestApp, address: &str, email: &str, password: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let (cookie, token) = app.login_token().await;
    let r = client
        .post(format!("{address}/login"))
        .header("cookie", cookie)
        .form(&[("email", email), ("password", password), ("csrf", &token)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(r.status().as_u16(), 303, "login of {email} at {address}");
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("avtal_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_owned();
    let page = client
        .get(format!("{address}/tokens"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(csrf.len(), 64, "no CSRF token on the page");
    (session, csrf)
}

/// Posts a form with the session cookie at `address`; the status.
async fn post_form_at(address: &str, path: &str, session: &str, form: &[(&str, &str)]) -> u16 {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
        .post(format!("{address}{path}"))
        .header("cookie", session)
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path} at {address}: {e}"))
        .status()
        .as_u16()
}

const API: &str = "/api/v1/agreements?limit=1";

/// Asks both instances with the token twice (so both keep it in memory) and expects `want`.
async fn token_status_on_both(addresses: [&str; 2], token: &str, want: u16, what: &str) {
    let bearer = format!("Bearer {token}");
    for address in addresses {
        for _ in 0..2 {
            let got = status_at(address, API, "authorization", &bearer).await;
            assert_eq!(got, want, "{what}: a token at {address}");
        }
    }
}

/// Asks both instances with the session cookie twice and expects `want` for `/tokens`.
async fn session_status_on_both(addresses: [&str; 2], session: &str, want: u16, what: &str) {
    for address in addresses {
        for _ in 0..2 {
            let got = status_at(address, "/tokens", "cookie", session).await;
            assert_eq!(got, want, "{what}: a session at {address}");
        }
    }
}

async fn ended_credentials_are_refused_at_once_on_every_instance(app: TestApp) {
    let password = "ett långt lösenord";
    app.create_user("sara@test.example", Role::Admin, None, password)
        .await;
    let other = second_instance(&app).await;
    let both = [app.address.as_str(), other.as_str()];
    let (sara, _) = avtal::db::users::find_login(&app.registry.db, "sara@test.example")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no sara"));

    // A token revoked on this instance: refused here and there at the next request.
    let token = format!(
        "avt_{}",
        avtal::registry::accounts::new_secret().unwrap_or_else(|e| panic!("{e}"))
    );
    let info = avtal::db::users::insert_token(
        &app.registry.db,
        sara.user_id,
        "skript",
        &avtal::registry::accounts::secret_hash(&token),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    token_status_on_both(both, &token, 200, "before the revoke").await;
    let (session, csrf) = session_at(&app, &app.address, "sara@test.example", password).await;
    let revoke = format!("/tokens/{}/revoke", info.id);
    let status = post_form_at(&app.address, &revoke, &session, &[("csrf", &csrf)]).await;
    assert_eq!(status, 303, "the revoke");
    token_status_on_both(both, &token, 401, "after the revoke on this instance").await;

    // A user disabled on the other instance: its token and session refused on both.
    let olle_password = "olles långa lösenord";
    app.create_user("olle@test.example", Role::Auditor, None, olle_password)
        .await;
    let (olle_id, olle_token) =
        crate::helpers::user_with_token(&app.registry, "olle2@test.example", Role::Auditor, None)
            .await;
    let (olle_session, _) = session_at(&app, &other, "olle@test.example", olle_password).await;
    token_status_on_both(both, &olle_token, 200, "before the disable").await;
    session_status_on_both(both, &olle_session, 200, "before the disable").await;
    let (session_b, csrf_b) = session_at(&app, &other, "sara@test.example", password).await;
    for email in ["olle@test.example", "olle2@test.example"] {
        let status = post_form_at(
            &other,
            "/admin/users/disable",
            &session_b,
            &[("email", email), ("csrf", &csrf_b)],
        )
        .await;
        assert_eq!(status, 303, "disabling {email} (user {olle_id})");
    }
    token_status_on_both(both, &olle_token, 401, "after the disable").await;
    session_status_on_both(both, &olle_session, 303, "after the disable").await;

    // A password changed from the command line (a third process on the database): every
    // session of the user ends on both instances.
    session_status_on_both(both, &session, 200, "before the password change").await;
    session_status_on_both(both, &session_b, 200, "before the password change").await;
    let cli = Registry::new(
        avtal::db::connect(&app.registry.settings)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}")),
        app.registry.settings.clone(),
    );
    avtal::registry::accounts::set_password(
        &cli,
        "sara@test.example",
        "ett nytt långt lösenord".to_owned(),
    )
    .await
    .unwrap_or_else(|e| panic!("set password: {e}"));
    session_status_on_both(both, &session, 303, "after the password change").await;
    session_status_on_both(both, &session_b, 303, "after the password change").await;

    // A session ended on one instance (logout) is refused on the other.
    let password = "ett nytt långt lösenord";
    let (session, csrf) = session_at(&app, &other, "sara@test.example", password).await;
    session_status_on_both(both, &session, 200, "before the logout").await;
    let status = post_form_at(&app.address, "/logout", &session, &[("csrf", &csrf)]).await;
    assert_eq!(status, 303, "the logout");
    session_status_on_both(both, &session, 303, "after the logout").await;
}

mod connection_on_postgres {
    use sea_orm::ConnectionTrait;

    use crate::helpers::{Backend, test_settings};

    /// Whether the connection `db` answers on is encrypted.
    async fn tls(db: &sea_orm::DatabaseConnection) -> bool {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ))
            .await
            .unwrap_or_else(|e| panic!("pg_stat_ssl: {e}"))
            .unwrap_or_else(|| panic!("no pg_stat_ssl row"));
        row.try_get::<bool>("", "ssl")
            .unwrap_or_else(|e| panic!("ssl: {e}"))
    }

    /// A loopback connection is plain unless its URL asks for TLS (statements over 16 KiB
    /// stalled 40 ms on TLS without `TCP_NODELAY`); a URL's `sslmode` is followed.
    #[tokio::test]
    async fn a_loopback_connection_uses_tls_only_when_its_url_asks_for_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut settings = test_settings(Backend::Postgres, dir.path()).await;
        let db = avtal::db::connect(&settings)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        assert!(!tls(&db).await, "a loopback URL without sslmode");
        let ssl_on = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SHOW ssl",
            ))
            .await
            .ok()
            .flatten()
            .and_then(|r| r.try_get::<String>("", "ssl").ok())
            .is_some_and(|v| v == "on");
        if !ssl_on {
            eprintln!("the server has no TLS: the sslmode=require half is not run");
            return;
        }
        let url = settings
            .database_url
            .as_ref()
            .map(|u| u.expose().to_owned())
            .unwrap_or_default();
        settings.database_url = Some(avtal::config::Secret::new(format!("{url}?sslmode=require")));
        let db = avtal::db::connect(&settings)
            .await
            .unwrap_or_else(|e| panic!("connect with sslmode=require: {e}"));
        assert!(tls(&db).await, "sslmode=require");
    }
}
