//! Access control: the role x route table (every route, every role and anonymous, with the
//! expected outcome), data scoping by organisation, sessions, CSRF, the login rate limit and
//! API tokens.

#![expect(clippy::unwrap_used, reason = "a test reports a failure by panicking")]

use avtal::domain::access::Role;
use serde_json::json;

use crate::helpers::{ENTERPRISE_ORG, TestApp};

/// What a caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Past the guard: 2xx, 3xx to somewhere else than the login, or a validation answer.
    Allowed,
    /// 401 (API) or a redirect to the login page.
    Login,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// A server error: never expected.
    Broken,
}

use Outcome::{Allowed as A, Forbidden as F, Login as L, NotFound as N};

fn outcome(status: u16, location: Option<&str>) -> Outcome {
    match status {
        401 => L,
        303 | 302 | 307 if location.is_some_and(|l| l.starts_with("/login")) => L,
        403 => F,
        404 => N,
        500.. => Outcome::Broken,
        _ => A,
    }
}

/// (method, path, JSON body or form, expected for [anonymous, admin, officer, auditor, enterprise]).
/// The officer works for the buyer of AGR-2025-0004 (not of AGR-2025-0001); the enterprise user
/// for the supplier of AGR-2025-0004 (not a party to AGR-2025-0001). Writes send bodies that
/// reach the use case (which checks access) but fail validation, so the table's rows do not
/// change each other's data: `put_other` is AGR-2025-0001 as stored, at a stale version.
fn table(
    doc_other: i64,
    put_other: serde_json::Value,
) -> Vec<(
    &'static str,
    String,
    Option<serde_json::Value>,
    [Outcome; 5],
)> {
    // The audit routes read the log as of days in Sweden; the samples were imported today.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive();
    let bad_action = json!({"seq": 99});
    vec![
        // Public.
        ("GET", "/health".into(), None, [A, A, A, A, A]),
        ("GET", "/static/avtal.css".into(), None, [A, A, A, A, A]),
        ("GET", "/login".into(), None, [A, A, A, A, A]),
        // The JSON API: reads.
        ("GET", "/api/v1/agreements".into(), None, [L, A, A, A, A]),
        (
            "GET",
            "/api/v1/agreements?party=212900-0010".into(),
            None,
            [L, A, A, A, F],
        ),
        (
            "GET",
            "/api/v1/agreements/AGR-2025-0004".into(),
            None,
            [L, A, A, A, A],
        ),
        (
            "GET",
            "/api/v1/agreements/AGR-2025-0001".into(),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            "/api/v1/agreements/AGR-2025-0001/documents".into(),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            "/api/v1/agreements/AGR-2025-0004/documents".into(),
            None,
            [L, A, A, A, A],
        ),
        (
            "GET",
            format!("/api/v1/documents/{doc_other}"),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            format!("/api/v1/agreements/AGR-2025-0001/as-of/{today}"),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            format!("/api/v1/agreements/AGR-2025-0004/diff?from={today}&to={today}"),
            None,
            [L, A, A, A, F],
        ),
        ("GET", "/api/v1/organisations".into(), None, [L, A, A, A, F]),
        (
            "GET",
            "/api/v1/organisations/212900-0028".into(),
            None,
            [L, A, A, A, F],
        ),
        ("GET", "/api/v1/contacts".into(), None, [L, A, A, A, F]),
        (
            "GET",
            "/api/v1/contacts/sara.nystrom@haninge.example".into(),
            None,
            [L, A, A, A, F],
        ),
        ("GET", "/api/v1/audit".into(), None, [L, A, A, A, F]),
        ("GET", "/api/v1/audit/verify".into(), None, [L, A, A, A, F]),
        ("GET", "/api/v1/outbox".into(), None, [L, A, A, A, F]),
        (
            "POST",
            "/api/v1/outbox/999999/retry".into(),
            None,
            [L, N, N, F, F],
        ),
        ("POST", "/api/v1/outbox/retry".into(), None, [L, A, A, F, F]),
        ("GET", "/api/v1/templates".into(), None, [L, A, A, A, A]),
        ("GET", "/api/v1/no-such-route".into(), None, [L, N, N, N, N]),
        // The JSON API: writes.
        (
            "POST",
            "/api/v1/organisations".into(),
            Some(json!({})),
            [L, A, A, F, F],
        ),
        (
            "PUT",
            "/api/v1/organisations/212900-0028".into(),
            Some(json!({})),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/api/v1/contacts".into(),
            Some(json!({})),
            [L, A, A, F, F],
        ),
        (
            "PUT",
            "/api/v1/contacts/sara.nystrom@haninge.example".into(),
            Some(json!({})),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/api/v1/agreements".into(),
            Some(json!({})),
            [L, A, A, F, F],
        ),
        (
            "PUT",
            "/api/v1/agreements/AGR-2025-0004".into(),
            Some(json!({})),
            [L, A, A, F, F],
        ),
        (
            "PUT",
            "/api/v1/agreements/AGR-2025-0001".into(),
            Some(put_other),
            [L, A, F, F, N],
        ),
        (
            "POST",
            "/api/v1/agreements/AGR-2025-0004/exercise-option".into(),
            Some(bad_action.clone()),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/api/v1/agreements/AGR-2025-0001/exercise-option".into(),
            Some(bad_action),
            [L, A, F, F, N],
        ),
        (
            "POST",
            "/api/v1/agreements/AGR-2025-0004/documents".into(),
            Some(json!({"template": "nope"})),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/api/v1/agreements/AGR-2025-0001/documents".into(),
            Some(json!({"template": "nope"})),
            [L, A, F, F, N],
        ),
        (
            "DELETE",
            "/api/v1/agreements/AGR-2025-0004".into(),
            None,
            [L, A, A, F, F],
        ),
        // Pages.
        ("GET", "/".into(), None, [L, A, A, A, A]),
        ("GET", "/deadlines".into(), None, [L, A, A, A, A]),
        ("GET", "/agreements".into(), None, [L, A, A, A, A]),
        (
            "GET",
            "/agreements?party=212900-0010".into(),
            None,
            [L, A, A, A, F],
        ),
        (
            "GET",
            "/agreements/AGR-2025-0004".into(),
            None,
            [L, A, A, A, A],
        ),
        (
            "GET",
            "/agreements/AGR-2025-0001".into(),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            "/agreements/AGR-2099-0404".into(),
            None,
            [L, N, N, N, N],
        ),
        ("GET", "/agreements/new".into(), None, [L, A, A, F, F]),
        (
            "GET",
            "/agreements/AGR-2025-0004/edit".into(),
            None,
            [L, A, A, F, F],
        ),
        (
            "GET",
            "/agreements/AGR-2025-0001/edit".into(),
            None,
            [L, A, F, F, N],
        ),
        (
            "POST",
            "/agreements/new".into(),
            Some(json!("title=")),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0004/edit".into(),
            Some(json!("title=")),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0001/edit".into(),
            Some(json!("title=")),
            [L, A, F, F, N],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0004/do/exercise-option".into(),
            Some(json!("seq=99")),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0001/do/notice".into(),
            Some(json!("by=x")),
            [L, A, F, F, N],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0004/documents".into(),
            Some(json!("template=nope")),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0004/do/reject-report".into(),
            Some(json!("report=social_clause_report&period_end=2026-03-31")),
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0001/do/accept-report".into(),
            Some(json!("report=x")),
            [L, A, F, F, N],
        ),
        // Report occurrences: the file (none handed in yet), and an enterprise user's own
        // upload and acknowledgement (a period that does not exist, so nothing changes).
        (
            "GET",
            "/agreements/AGR-2025-0004/reports/social_clause_report/2026-03-31/file".into(),
            None,
            [L, N, N, N, N],
        ),
        (
            "GET",
            "/agreements/AGR-2025-0001/reports/annual_report/2026-12-31/file".into(),
            None,
            [L, N, N, N, N],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0004/reports/social_clause_report/2026-03-30/file".into(),
            Some(json!("file=x")),
            [L, F, F, F, A],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0004/reports/social_clause_report/2026-03-30/acknowledge".into(),
            Some(json!("")),
            [L, F, F, F, A],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0001/reports/annual_report/2026-12-31/file".into(),
            Some(json!("file=x")),
            [L, F, F, F, N],
        ),
        (
            "POST",
            "/agreements/AGR-2025-0001/reports/annual_report/2026-12-31/acknowledge".into(),
            Some(json!("")),
            [L, F, F, F, N],
        ),
        (
            "GET",
            format!("/documents/{doc_other}"),
            None,
            [L, A, A, A, N],
        ),
        // Signed copies: uploaded by the agreement's officers (a body that is no PDF: 422),
        // read by whoever reads the agreement (none on record yet: 404).
        (
            "POST",
            format!("/agreements/AGR-2025-0001/documents/{doc_other}/signed"),
            Some(json!("file=x")),
            [L, A, F, F, N],
        ),
        (
            "GET",
            format!("/agreements/AGR-2025-0001/documents/{doc_other}/signed"),
            None,
            [L, N, N, N, N],
        ),
        (
            "POST",
            format!("/api/v1/agreements/AGR-2025-0001/documents/{doc_other}/signed"),
            Some(json!({})),
            [L, A, F, F, N],
        ),
        (
            "GET",
            format!("/api/v1/agreements/AGR-2025-0004/documents/{doc_other}/signed"),
            None,
            [L, N, N, N, N],
        ),
        // A party's address (a body missing the postal code and city: 422).
        (
            "GET",
            "/organisations/212900-0028/edit".into(),
            None,
            [L, A, A, F, F],
        ),
        (
            "POST",
            "/organisations/212900-0028/edit".into(),
            Some(json!("street=Storgatan+1")),
            [L, A, A, F, F],
        ),
        ("GET", "/tokens".into(), None, [L, A, A, A, A]),
        (
            "GET",
            "/audit?agreement=AGR-2025-0001".into(),
            None,
            [L, A, A, A, F],
        ),
        (
            "GET",
            format!("/agreements/AGR-2025-0001/as-of?date={today}"),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            format!("/agreements/AGR-2025-0001/diff?from={today}&to={today}"),
            None,
            [L, A, A, A, N],
        ),
        ("GET", "/audit/verify".into(), None, [L, A, A, A, F]),
        (
            "GET",
            "/audit/export.csv?agreement=AGR-2025-0001".into(),
            None,
            [L, A, A, A, F],
        ),
        (
            "POST",
            "/tokens".into(),
            Some(json!("name=")),
            [L, A, A, A, A],
        ),
        (
            "POST",
            "/tokens/999999/revoke".into(),
            Some(json!("")),
            [L, N, N, N, N],
        ),
        ("GET", "/admin/users".into(), None, [L, A, F, F, F]),
        (
            "POST",
            "/admin/users/disable".into(),
            Some(json!("email=nobody%40test.example")),
            [L, N, F, F, F],
        ),
        ("GET", "/outbox".into(), None, [L, A, A, F, F]),
        (
            "POST",
            "/outbox/999999/retry".into(),
            Some(json!("")),
            [L, N, N, F, F],
        ),
        (
            "POST",
            "/outbox/retry".into(),
            Some(json!("")),
            [L, A, A, F, F],
        ),
        // Every route of an agreement outside an enterprise user's scope (or of none) is 404,
        // also where its role is refused; its own agreement keeps the plain 403.
        (
            "GET",
            "/api/v1/ocds/releases/AGR-2025-0001".into(),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            "/api/v1/ocds/records/AGR-2025-0001".into(),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            "/api/v1/ocds/releases/AGR-2025-0004".into(),
            None,
            [L, A, A, A, F],
        ),
        (
            "GET",
            "/api/v1/ocds/records/AGR-2099-0404".into(),
            None,
            [L, N, N, N, N],
        ),
        (
            "GET",
            "/api/v1/agreements/AGR-2025-0001/report-files".into(),
            None,
            [L, A, A, A, N],
        ),
        (
            "GET",
            "/api/v1/agreements/AGR-2025-0001/reports/annual_report/2026-12-31/file".into(),
            None,
            [L, N, N, N, N],
        ),
        (
            "GET",
            format!("/api/v1/agreements/AGR-2099-0404/as-of/{today}"),
            None,
            [L, N, N, N, N],
        ),
        (
            "POST",
            "/api/v1/agreements/AGR-2099-0404/exercise-option".into(),
            Some(json!({"seq": 99})),
            [L, N, N, F, N],
        ),
        ("GET", "/no-such-page".into(), None, [L, N, N, N, N]),
    ]
}

async fn every_route_gives_each_role_exactly_what_the_policy_table_says(app: TestApp) {
    app.load_examples().await;
    // A stored document of AGR-2025-0001 (another enterprise's agreement), without typst.
    let other = app.agreement("AGR-2025-0001").await;
    let stored = avtal::db::store::get_agreement(
        &app.registry.db,
        &avtal::domain::agreement::Reference::parse("AGR-2025-0001").unwrap(),
    )
    .await
    .unwrap();
    let doc = avtal::db::documents::insert_document(
        &app.registry.db,
        &avtal::db::documents::NewDocument {
            agreement_id: stored.id,
            agreement_reference: "AGR-2025-0001",
            agreement_version: other.body["version"].as_i64().unwrap_or(1) as i32,
            template: "iop",
            template_version: "1",
            event: None,
            file_name: "x.pdf",
            sha256: "00",
            content: b"%PDF-1.7",
            created_by: "test",
            clauses: &[],
        },
    )
    .await
    .unwrap();
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let clients = [
        anonymous,
        app.client.clone(),
        app.client_for(Role::Officer).await,
        app.client_for(Role::Auditor).await,
        app.client_for(Role::Enterprise).await,
    ];
    let names = ["anonymous", "admin", "officer", "auditor", "enterprise"];
    let mut wrong = Vec::new();
    let put_other = json!({"version": 999_999, "data": other.body["agreement"].clone()});
    for (method, path, body, expected) in table(doc.id, put_other) {
        for (i, client) in clients.iter().enumerate() {
            let url = format!("{}{path}", app.address);
            let mut req = client.request(method.parse().unwrap(), &url);
            match &body {
                Some(serde_json::Value::String(form)) => {
                    req = req
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form.clone())
                }
                Some(json) => req = req.json(json),
                None => {}
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = resp.text().await.unwrap_or_default();
            let got = outcome(status, location.as_deref());
            if got != expected[i] {
                wrong.push(format!(
                    "{method} {path} as {}: expected {:?}, got {status} {:?}",
                    names[i], expected[i], location
                ));
            }
            // A refusal never carries the agreement.
            if got != A && path.contains("AGR-2025-0001") {
                assert!(
                    !text.contains("Farsta"),
                    "{method} {path} as {} leaks data: {text}",
                    names[i]
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn an_enterprise_user_lists_only_its_own_organisations_agreements(app: TestApp) {
    app.load_examples().await;
    let client = app.client_for(Role::Enterprise).await;
    let r: serde_json::Value = client
        .get(format!("{}/api/v1/agreements?limit=100", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refs: Vec<&str> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["reference"].as_str())
        .collect();
    assert_eq!(refs, vec!["AGR-2025-0004"], "{r}");
    let page = client
        .get(format!("{}/agreements?q=AGR", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("AGR-2025-0004"));
    assert!(!page.contains("AGR-2025-0001"), "{page}");
    // The same party given explicitly is fine.
    let own = client
        .get(format!(
            "{}/api/v1/agreements?party={ENTERPRISE_ORG}",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
}

async fn an_officer_cannot_create_an_agreement_for_another_buyer_and_changes_are_logged_as_the_user(
    app: TestApp,
) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let mut doc = app.agreement("AGR-2025-0001").await.body["agreement"].clone();
    doc["reference"] = json!("AGR-2026-0900");
    doc["status"] = json!("draft");
    // Farsta's buyer: not the officer's organisation.
    let r = officer
        .post(format!("{}/api/v1/agreements", app.address))
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(app.agreement("AGR-2026-0900").await.status, 404);
    // As Haninge's officer, with Haninge as the buyer: created, and logged as the user.
    doc["parties"][0]["org"] = json!("212900-0028");
    doc["contacts"] = json!({});
    let r = officer
        .post(format!("{}/api/v1/agreements", app.address))
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        201,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let log = app.get("/api/v1/audit?agreement=AGR-2026-0900").await;
    let actor = log.body["items"][0]["actor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(actor.starts_with("user:"), "{actor}");
    assert_ne!(actor, app.admin_actor());
}

async fn a_session_login_sets_a_safe_cookie_and_a_form_post_needs_its_csrf_token(app: TestApp) {
    app.load_examples().await;
    app.create_user(
        "sara@haninge.example",
        Role::Officer,
        Some("212900-0028"),
        "rätt lösenord 123",
    )
    .await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A login without fields is a failed login, not a malformed request.
    let r = app.login_post(&raw, &[]).await;
    assert_eq!(r.status().as_u16(), 401);
    // A wrong password and an unknown account get the same generic answer.
    for (email, pw) in [
        ("sara@haninge.example", "fel"),
        ("nobody@haninge.example", "fel"),
    ] {
        let r = app
            .login_post(&raw, &[("email", email), ("password", pw)])
            .await;
        assert_eq!(r.status().as_u16(), 401);
        assert!(r.headers().get("set-cookie").is_none());
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Fel e-postadress eller lösenord")
        );
    }
    let r = app
        .login_post(
            &raw,
            &[
                ("email", "Sara@Haninge.example"),
                ("password", "rätt lösenord 123"),
                ("next", "/agreements"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/agreements");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
    // The session row holds only a hash of the cookie value.
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let rows = avtal::db::users::session(&app.registry.db, &token, chrono::Utc::now())
        .await
        .unwrap();
    assert!(
        rows.is_none(),
        "the clear cookie value must not be a stored key"
    );

    let (browser, csrf) = app
        .browser_login("sara@haninge.example", "rätt lösenord 123")
        .await;
    let post = |body: String| {
        browser
            .post(format!("{}/tokens", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    assert_eq!(
        post("name=utan".into()).await.unwrap().status().as_u16(),
        403
    );
    assert_eq!(
        post(format!("name=fel&csrf={}", "0".repeat(64)))
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    let ok = post(format!("name=Rapporter&csrf={csrf}")).await.unwrap();
    assert_eq!(ok.status().as_u16(), 201);
    let page = ok.text().await.unwrap();
    let secret = page
        .split("value=\"avt_")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let secret = format!("avt_{secret}");
    // The token works once shown, and is never shown again.
    let api = crate::helpers::bearer_client(&secret);
    let r = api
        .get(format!("{}/api/v1/agreements", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let again = browser
        .get(format!("{}/tokens", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("Rapporter") && !again.contains(&secret));
    // Revoked: refused.
    let (sara, _) = avtal::db::users::find_login(&app.registry.db, "sara@haninge.example")
        .await
        .unwrap()
        .unwrap();
    let id = avtal::db::users::list_tokens(&app.registry.db, sara.user_id)
        .await
        .unwrap();
    let id = id.first().map(|t| t.id).unwrap_or_default();
    let r = browser
        .post(format!("{}/tokens/{id}/revoke", app.address))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let r = api
        .get(format!("{}/api/v1/agreements", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The token's creation and revocation are in the audit log, without the secret.
    let log = app.get("/api/v1/audit?action=api_token.revoke").await;
    assert_eq!(log.body["total"], json!(1), "{}", log.body);
    assert!(!log.body.to_string().contains(&secret));
    // Logout ends the session: the cookie no longer opens pages.
    let first = cookie.split(';').next().unwrap().to_owned();
    let page = raw
        .get(format!("{}/tokens", app.address))
        .header("cookie", &first)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first_csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    assert_ne!(first_csrf, csrf, "each session has its own form token");
    let r = raw
        .post(format!("{}/logout", app.address))
        .header("cookie", &first)
        .form(&[("csrf", first_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = raw
        .get(format!("{}/", app.address))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    // The other session still works.
    let r = browser
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

async fn login_attempts_are_limited_per_account_even_with_the_right_password(app: TestApp) {
    app.create_user(
        "admin2@test.example",
        Role::Admin,
        None,
        "ett långt lösenord",
    )
    .await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..5 {
        let r = app
            .login_post(
                &raw,
                &[("email", "admin2@test.example"), ("password", "fel")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = app
        .login_post(
            &raw,
            &[
                ("email", "admin2@test.example"),
                ("password", "ett långt lösenord"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.text().await.unwrap().contains("För många"));
}

async fn a_user_is_created_with_a_hashed_password_and_an_audit_entry_without_it(app: TestApp) {
    app.load_examples().await;
    app.create_user(
        "ny@ljusglimt.example",
        Role::Enterprise,
        Some(ENTERPRISE_ORG),
        "hemligt lösenord 42",
    )
    .await;
    let log = app.get("/api/v1/audit?action=user.create").await;
    assert_eq!(log.body["total"], json!(1));
    let text = log.body.to_string();
    assert!(text.contains("ny@ljusglimt.example") && text.contains("enterprise"));
    assert!(
        !text.contains("argon2") && !text.contains("hemligt"),
        "{text}"
    );
    let stored = avtal::db::users::find_login(&app.registry.db, "ny@ljusglimt.example")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.1.starts_with("$argon2id$"));
    // Rules: an enterprise user needs a registered organisation; a password has 12 characters.
    for (org, pw, rule) in [
        (None, "hemligt lösenord 42", "org_required"),
        (
            Some("212900-0093"),
            "hemligt lösenord 42",
            "unknown_organisation",
        ),
        (Some(ENTERPRISE_ORG), "kort", "password_length"),
    ] {
        let e = avtal::registry::accounts::create_user(
            &app.registry,
            avtal::registry::accounts::NewUser {
                email: "x@ljusglimt.example".into(),
                role: Role::Enterprise,
                org: org.map(str::to_owned),
                password: pw.into(),
            },
        )
        .await
        .unwrap_err();
        match e {
            avtal::registry::RegistryError::Invalid(v) => assert_eq!(v[0].rule, rule),
            other => panic!("{other}"),
        }
    }
}

async fn behind_https_the_session_cookie_is_secure(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::test_settings(app.backend, dir.path()).await;
    settings.public_url = "https://avtal.kommun.example".into();
    let https = crate::helpers::spawn_with(app.backend, settings, dir).await;
    https
        .create_user("a@test.example", Role::Auditor, None, "ett långt lösenord")
        .await;
    let r = https
        .login_post(
            &reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            &[
                ("email", "a@test.example"),
                ("password", "ett långt lösenord"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

async fn avtal_user_add_prints_a_generated_password_that_signs_in(app: TestApp) {
    app.load_examples().await;
    let settings = &app.registry.settings;
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"));
        cmd.arg("--data-dir")
            .arg(&settings.data_dir)
            .args(["user", "add"])
            .args(args)
            .env("DATABASE_URL", settings.database_url().expose())
            .env("RUST_LOG", "error")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let out = run(
        &[
            "--email",
            "ny@haninge.example",
            "--role",
            "officer",
            "--org",
            "212900-0028",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(password.len(), 20);
    let out = run(
        &[
            "--email",
            "revisor@haninge.example",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        Some("ett eget långt lösenord\n"),
    );
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "a password read from stdin is not printed"
    );
    let out = run(&["--email", "x@haninge.example", "--role", "officer"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("org_required"));
    app.browser_login("ny@haninge.example", &password).await;
    app.browser_login("revisor@haninge.example", "ett eget långt lösenord")
        .await;
    let log = app.get("/api/v1/audit?action=user.create&actor=cli").await;
    assert_eq!(log.body["total"], json!(2), "{}", log.body);
}

async fn an_admin_deactivates_a_user_on_the_users_page_which_ends_its_sessions_and_tokens(
    app: TestApp,
) {
    app.load_examples().await;
    app.create_user(
        "chef@test.example",
        Role::Admin,
        None,
        "ett långt adminlösenord",
    )
    .await;
    app.create_user(
        "sara@haninge.example",
        Role::Officer,
        Some(crate::helpers::OFFICER_ORG),
        "ett långt lösenord",
    )
    .await;
    let (officer, officer_csrf) = app
        .browser_login("sara@haninge.example", "ett långt lösenord")
        .await;
    let r = officer
        .post(format!("{}/tokens", app.address))
        .form(&[("csrf", officer_csrf.as_str()), ("name", "skript")])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    let token = page
        .split("id=\"secret\" type=\"text\" readonly value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let api = |t: &str| {
        reqwest::Client::new()
            .get(format!("{}/api/v1/agreements", app.address))
            .bearer_auth(t.to_owned())
    };
    assert_eq!(api(&token).send().await.unwrap().status().as_u16(), 200);

    let (admin, csrf) = app
        .browser_login("chef@test.example", "ett långt adminlösenord")
        .await;
    let list = admin
        .get(format!("{}/admin/users", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("<h1>Användare</h1>"));
    assert!(list.contains("sara@haninge.example") && list.contains("Upphandlare"));
    assert!(list.contains("aria-label=\"Inaktivera sara@haninge.example\""));
    assert!(
        !list.contains("aria-label=\"Inaktivera chef@test.example\""),
        "no button to deactivate oneself"
    );
    // Without the form token: refused, nothing changes.
    let r = admin
        .post(format!("{}/admin/users/disable", app.address))
        .form(&[("email", "sara@haninge.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(api(&token).send().await.unwrap().status().as_u16(), 200);
    // Oneself: refused in Swedish.
    let r = admin
        .post(format!("{}/admin/users/disable", app.address))
        .form(&[("csrf", csrf.as_str()), ("email", "chef@test.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("ditt eget konto"));
    let r = admin
        .post(format!("{}/admin/users/disable", app.address))
        .form(&[("csrf", csrf.as_str()), ("email", "sara@haninge.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(!location.contains('@'), "no address in the URL: {location}");
    let done = admin
        .get(format!("{}{location}", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("Kontot sara@haninge.example är inaktiverat"));
    assert!(done.contains("Inaktiverat"));
    // Her session, her token and her password no longer work.
    let r = officer
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    assert_eq!(api(&token).send().await.unwrap().status().as_u16(), 401);
    let r = app
        .login_post(
            &reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            &[
                ("email", "sara@haninge.example"),
                ("password", "ett långt lösenord"),
            ],
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        401,
        "a deactivated user cannot sign in"
    );
    let log = app.get("/api/v1/audit?action=user.disable").await;
    assert_eq!(log.body["total"], json!(1), "{}", log.body);
    let entry = &log.body["items"][0];
    assert!(entry["actor"].as_str().unwrap().starts_with("user:"));
    assert!(!entry.to_string().contains("password_hash"));
}

fn run_user(app: &TestApp, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let settings = &app.registry.settings;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"));
    cmd.arg("--data-dir")
        .arg(&settings.data_dir)
        .arg("user")
        .args(args)
        .env("DATABASE_URL", settings.database_url().expose())
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

async fn avtal_user_list_passwd_and_disable_manage_accounts_from_the_command_line(app: TestApp) {
    app.create_user(
        "revisor@test.example",
        Role::Auditor,
        None,
        "det första lösenordet",
    )
    .await;
    let out = run_user(&app, &["list"], None);
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(list.starts_with("id\temail\trole\torg\tactive\n"), "{list}");
    assert!(
        list.contains("\trevisor@test.example\tauditor\t-\tyes\n"),
        "{list}"
    );
    // A new password from stdin: the old one stops working, the new one works.
    let out = run_user(
        &app,
        &[
            "passwd",
            "--email",
            "revisor@test.example",
            "--password-stdin",
        ],
        Some("det andra långa lösenordet\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    app.browser_login("revisor@test.example", "det andra långa lösenordet")
        .await;
    let short = run_user(
        &app,
        &[
            "passwd",
            "--email",
            "revisor@test.example",
            "--password-stdin",
        ],
        Some("kort\n"),
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password_length"));
    // A generated one is printed once.
    let out = run_user(&app, &["passwd", "--email", "revisor@test.example"], None);
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(generated.len(), 20);
    app.browser_login("revisor@test.example", &generated).await;
    let unknown = run_user(&app, &["disable", "--email", "ingen@test.example"], None);
    assert!(!unknown.status.success());
    let out = run_user(&app, &["disable", "--email", "revisor@test.example"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(run_user(&app, &["list"], None).stdout).unwrap();
    assert!(
        list.contains("\trevisor@test.example\tauditor\t-\tno\n"),
        "{list}"
    );
    let log = app.get("/api/v1/audit?actor=cli").await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "user.password").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"user.disable"));
    assert!(!log.body.to_string().contains("det andra långa lösenordet"));
}

fn run_token(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let settings = &app.registry.settings;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"))
        .arg("--data-dir")
        .arg(&settings.data_dir)
        .arg("token")
        .args(args)
        .env("DATABASE_URL", settings.database_url().expose())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn avtal_token_create_list_and_revoke_give_scripts_a_token_without_a_browser(app: TestApp) {
    app.create_user(
        "revisor@test.example",
        Role::Auditor,
        None,
        "ett långt lösenord",
    )
    .await;
    // Created for a user, printed once on stdout, and it works against the API.
    let (ok, secret, err) = run_token(
        &app,
        &[
            "create",
            "--email",
            "Revisor@test.example",
            "--name",
            "nattlig export",
        ],
    );
    assert!(ok, "{err}");
    let secret = secret.trim().to_owned();
    assert!(secret.starts_with("avt_") && secret.len() == 68, "{secret}");
    let api = crate::helpers::bearer_client(&secret);
    let r = api
        .get(format!("{}/api/v1/agreements", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // An auditor's token cannot write.
    let r = api
        .post(format!("{}/api/v1/organisations", app.address))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Listed with its owner, never with its secret.
    let (ok, list, err) = run_token(&app, &["list", "--email", "revisor@test.example"]);
    assert!(ok, "{err}");
    assert!(
        list.starts_with("id\temail\tname\tcreated_at\tlast_used_at\n"),
        "{list}"
    );
    let line = list
        .lines()
        .find(|l| l.contains("\trevisor@test.example\tnattlig export\t"))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(!line.ends_with("\t-"), "it was used: {line}");
    assert!(!list.contains(&secret));
    let id: i64 = line.split('\t').next().unwrap().parse().unwrap();
    let (ok, all, _) = run_token(&app, &["list"]);
    assert!(ok && all.contains("\tadmin@test.example\ttests\t"), "{all}");
    let (ok, other, _) = run_token(&app, &["list", "--email", "admin@test.example"]);
    assert!(ok && !other.contains("revisor@"), "{other}");
    // Refusals name the field and the rule.
    let (ok, _, err) = run_token(
        &app,
        &["create", "--email", "ingen@test.example", "--name", "x"],
    );
    assert!(!ok && err.contains("unknown_user"), "{err}");
    let (ok, _, err) = run_token(
        &app,
        &["create", "--email", "revisor@test.example", "--name", " "],
    );
    assert!(!ok && err.contains("token_name"), "{err}");
    // Revoked: the API no longer accepts it.
    let (ok, _, err) = run_token(&app, &["revoke", "--id", &id.to_string()]);
    assert!(ok, "{err}");
    let r = api
        .get(format!("{}/api/v1/agreements", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (ok, _, err) = run_token(&app, &["revoke", "--id", &id.to_string()]);
    assert!(!ok && err.contains("unknown_token"), "{err}");
    // Both changes are in the audit log as the command line's, without the secret.
    let log = app.get("/api/v1/audit?actor=cli").await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"api_token.create"), "{actions:?}");
    assert!(actions.contains(&"api_token.revoke"), "{actions:?}");
    assert!(!log.body.to_string().contains(&secret));
}

async fn a_forged_login_without_the_login_forms_token_and_cookie_is_refused(app: TestApp) {
    app.create_user("a@test.example", Role::Auditor, None, "ett långt lösenord")
        .await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The login page sets a pre-session token cookie and puts the same value in its form.
    let (cookie, token) = app.login_token().await;
    assert_eq!(token.len(), 64);
    assert_eq!(cookie, format!("avtal_login={token}"));
    let r = raw
        .get(format!("{}/login", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("set-cookie").is_none(), "the token is kept");
    assert!(r.text().await.unwrap().contains(&token));
    let first = reqwest::get(format!("{}/login", app.address))
        .await
        .unwrap();
    let set = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/login"] {
        assert!(set.contains(attr), "{set}");
    }
    assert_eq!(first.headers()["cache-control"], "no-store");
    let right = [
        ("email", "a@test.example"),
        ("password", "ett långt lösenord"),
    ];
    let post = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut req = raw.post(format!("{}/login", app.address)).form(&form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let with = |csrf: &str| {
        let mut f: Vec<(&'static str, String)> =
            right.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        f.push(("csrf", csrf.to_owned()));
        f
    };
    // A cross-site form: the right password, but no token, a token without the cookie (the
    // attacker's own), or a cookie with another token.
    let (other_cookie, other_token) = app.login_token().await;
    for (form, cookie) in [
        (with(""), None),
        (with(""), Some(cookie.clone())),
        (with(&other_token), None),
        (with(&other_token), Some(cookie.clone())),
        (with(&token), Some(other_cookie.clone())),
    ] {
        let r = post(form, cookie).await.unwrap();
        assert_eq!(r.status().as_u16(), 403);
        assert!(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| !c.to_str().unwrap_or_default().starts_with("avtal_session=")),
            "no session for a forged login"
        );
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Inloggningsformuläret har gått ut")
        );
    }
    // The browser's own form: signed in, and the spent login token is cleared.
    let r = post(with(&token), Some(cookie)).await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("avtal_session=")));
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("avtal_login=;") && c.contains("Max-Age=0"))
    );
}

crate::on_both_backends!(
    avtal_token_create_list_and_revoke_give_scripts_a_token_without_a_browser,
    a_forged_login_without_the_login_forms_token_and_cookie_is_refused,
    an_admin_deactivates_a_user_on_the_users_page_which_ends_its_sessions_and_tokens,
    avtal_user_list_passwd_and_disable_manage_accounts_from_the_command_line,
    avtal_user_add_prints_a_generated_password_that_signs_in,
    behind_https_the_session_cookie_is_secure,
    every_route_gives_each_role_exactly_what_the_policy_table_says,
    an_enterprise_user_lists_only_its_own_organisations_agreements,
    an_officer_cannot_create_an_agreement_for_another_buyer_and_changes_are_logged_as_the_user,
    a_session_login_sets_a_safe_cookie_and_a_form_post_needs_its_csrf_token,
    login_attempts_are_limited_per_account_even_with_the_right_password,
    a_user_is_created_with_a_hashed_password_and_an_audit_entry_without_it,
);
