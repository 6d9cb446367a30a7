//! The auditor's pages: an agreement as of a date, the diff between two dates, the chain
//! verification, the change log as CSV, and the export links of the agreement list.

#![expect(clippy::unwrap_used, reason = "a test reports a failure by panicking")]

use avtal::db::audit::{Appender, NewEntry};
use avtal::domain::access::Role;
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

async fn text(client: &reqwest::Client, url: String) -> (u16, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap()
}

/// Writes an entry about AGR-2026-0500 dated `at`, as a back-dated load would.
async fn log_at(app: &TestApp, at: DateTime<Utc>, action: &str, before: &Value, after: &Value) {
    let tx = avtal::db::begin_write(&app.registry.db).await.unwrap();
    let mut log = Appender::start(&tx).await.unwrap().with_time(at);
    log.push(
        &tx,
        NewEntry {
            actor: "test".into(),
            action: action.into(),
            entity_kind: "agreement".into(),
            entity_key: "AGR-2026-0500".into(),
            agreement: Some("AGR-2026-0500".into()),
            before: (!before.is_null()).then(|| before.to_string()),
            after: Some(after.to_string()),
        },
    )
    .await
    .unwrap();
    log.finish(&tx).await.unwrap();
    tx.commit().await.unwrap();
}

/// AGR-2026-0500: created on 10 January 2026 as "Städning", renamed on 5 March.
async fn renamed_in_march(app: &TestApp) {
    let v1 = json!({"reference": "AGR-2026-0500", "title": "Städning",
        "period": {"start": "2026-01-01", "current_end": "2026-12-31"}});
    let mut v2 = v1.clone();
    v2["title"] = json!("Städning och fönsterputs");
    log_at(
        app,
        utc(2026, 1, 10, 12),
        "agreement.create",
        &Value::Null,
        &v1,
    )
    .await;
    log_at(app, utc(2026, 3, 5, 12), "agreement.update", &v1, &v2).await;
}

async fn the_as_of_page_shows_the_old_value_after_a_change(app: TestApp) {
    renamed_in_march(&app).await;
    let auditor = app.client_for(Role::Auditor).await;
    let page = |d: &str| {
        text(
            &auditor,
            format!("{}/agreements/AGR-2026-0500/as-of?date={d}", app.address),
        )
    };
    let (status, before) = page("2026-02-01").await;
    assert_eq!(status, 200, "{before}");
    assert!(
        before.contains("<td>Titel</td><td><code>title</code></td><td>Städning</td>"),
        "{before}"
    );
    assert!(!before.contains("fönsterputs"));
    assert!(before.contains("<code>period.current_end</code>") && before.contains("2026-12-31"));
    let (_, after) = page("2026-03-05").await;
    assert!(
        after.contains("<td>Städning och fönsterputs</td>"),
        "{after}"
    );
    // Before it existed, and bad dates: Swedish text on the page, never a 500.
    let (status, early) = page("2026-01-09").await;
    assert_eq!(status, 200);
    assert!(early.contains("fanns inte ännu den 2026-01-09"), "{early}");
    let (status, bad) = page("2026-13-01").await;
    assert_eq!(status, 400);
    assert!(
        bad.contains("är inget giltigt datum") && bad.contains("2026-13-01"),
        "{bad}"
    );
    let (status, none) = page("").await;
    assert_eq!(status, 400);
    assert!(none.contains("Ange datum"), "{none}");
    let (status, _) = text(
        &auditor,
        format!(
            "{}/agreements/AGR-2099-0001/as-of?date=2026-01-01",
            app.address
        ),
    )
    .await;
    assert_eq!(status, 404);
}

async fn the_diff_page_lists_the_changed_field_with_old_and_new_value(app: TestApp) {
    renamed_in_march(&app).await;
    let officer = app.client_for(Role::Officer).await;
    let page = |from: &str, to: &str| {
        text(
            &officer,
            format!(
                "{}/agreements/AGR-2026-0500/diff?from={from}&to={to}",
                app.address
            ),
        )
    };
    let (status, html) = page("2026-02-01", "2026-03-31").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(
            "<tr><td>Titel</td><td><code>title</code></td><td>Städning</td><td>Städning och fönsterputs</td></tr>"
        ),
        "{html}"
    );
    assert!(html.contains("1 ändrade fält"));
    assert!(!html.contains("<code>period.current_end</code>"));
    let (_, same) = page("2026-03-06", "2026-03-31").await;
    assert!(same.contains("Inga fält ändrades"));
    let (status, reversed) = page("2026-03-31", "2026-02-01").await;
    assert_eq!(status, 400);
    assert!(reversed.contains("ligger före från-datum"), "{reversed}");
    let (status, bad) = page("igår", "2026-02-01").await;
    assert_eq!(status, 400);
    assert!(bad.contains("är inget giltigt datum"), "{bad}");
    // Before it existed every field is new, one row per value.
    let (_, created) = page("2026-01-01", "2026-01-31").await;
    assert!(created.contains("alla fält är nya"), "{created}");
    assert!(
        created.contains(
            "<tr><td>Gällande slutdatum</td><td><code>period.current_end</code></td><td>–</td><td>2026-12-31</td></tr>"
        ),
        "{created}"
    );
    let (status, early) = page("2025-01-01", "2025-02-01").await;
    assert_eq!(status, 200);
    assert!(early.contains("fanns inte ännu den 2025-02-01"));
    // The change log links each entry to the agreement as of its day and to its diff.
    let (_, log) = text(
        &officer,
        format!("{}/audit?agreement=AGR-2026-0500", app.address),
    )
    .await;
    assert!(
        log.contains("/agreements/AGR-2026-0500/as-of?date=2026-03-05"),
        "{log}"
    );
    assert!(log.contains("/agreements/AGR-2026-0500/diff?from=2026-03-04&amp;to=2026-03-05"));
}

async fn sql(app: &TestApp, statement: &str) {
    app.registry.db.execute_unprepared(statement).await.unwrap();
}

async fn the_verify_page_says_the_chain_is_intact_and_names_an_edited_entry(app: TestApp) {
    app.load_examples().await;
    let auditor = app.client_for(Role::Auditor).await;
    let (_, log) = text(&auditor, format!("{}/audit", app.address)).await;
    assert!(log.contains("href=\"/audit/verify\""), "{log}");
    let (status, page) = text(&auditor, format!("{}/audit/verify", app.address)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Kedjan är obruten"), "{page}");
    assert!(page.contains("63 poster kontrollerade"));
    // Someone with schema rights drops the append-only triggers and edits entry 10.
    match app.backend {
        Backend::Sqlite => {
            sql(&app, "DROP TRIGGER audit_log_no_update").await;
            sql(&app, "DROP TRIGGER audit_log_no_delete").await;
        }
        Backend::Postgres => sql(&app, "DROP TRIGGER audit_log_append_only ON audit_log").await,
    }
    sql(
        &app,
        r#"UPDATE audit_log SET "after" = '{"name":"Någon annan"}' WHERE id = 10"#,
    )
    .await;
    let (status, page) = text(&auditor, format!("{}/audit/verify", app.address)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Kedjan är bruten vid post nr 10")
            && page.contains("har ändrats i efterhand"),
        "{page}"
    );
}

fn parse_excel_csv(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let body = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or_else(|| panic!("no BOM"));
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(body);
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r.records().map(Result::unwrap).collect();
    (header, rows)
}

async fn the_audit_csv_parses_and_holds_the_filtered_entries(app: TestApp) {
    app.load_examples().await;
    let officer = app.client_for(Role::Officer).await;
    let r = officer
        .post(format!(
            "{}/agreements/AGR-2025-0004/do/decline-option",
            app.address
        ))
        .form(&[("seq", "1"), ("decided_on", "2026-12-01")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let auditor = app.client_for(Role::Auditor).await;
    let get = |q: &str| {
        auditor
            .get(format!("{}/audit/export.csv?{q}", app.address))
            .send()
    };
    let all = get("").await.unwrap();
    assert_eq!(all.status().as_u16(), 200);
    assert_eq!(
        all.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let (header, rows) = parse_excel_csv(&all.bytes().await.unwrap());
    assert_eq!(header[0], "Nr");
    assert_eq!(header.len(), 12);
    assert_eq!(rows.len(), 64);
    let api = app.get("/api/v1/audit?limit=1").await;
    let newest = &api.body["items"][0];
    assert_eq!(rows[0][0], newest["id"].to_string());
    assert_eq!(&rows[0][4], "agreement.decline_option");
    assert_eq!(&rows[0][7], "AGR-2025-0004");
    assert_eq!(&rows[0][11], newest["hash"].as_str().unwrap());
    let after: Value = serde_json::from_str(&rows[0][9]).unwrap();
    assert_eq!(after, newest["after"]);
    assert!(rows[0][3].starts_with("officer-"), "the user's address");

    // The page's filters: an agreement, a user by e-mail address, a date range.
    let (_, rows) = parse_excel_csv(
        &get("agreement=AGR-2025-0004")
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| &r[7] == "AGR-2025-0004"));
    let email = rows[0][3].to_owned();
    let (_, rows) = parse_excel_csv(
        &get(&format!("actor={}", email.replace('@', "%40")))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 1);
    let (_, rows) = parse_excel_csv(&get("to=2020-01-01").await.unwrap().bytes().await.unwrap());
    assert!(rows.is_empty());
    // The log page filters by e-mail address too, and links the CSV with its filters.
    let (status, page) = text(
        &auditor,
        format!("{}/audit?actor={}", app.address, email.replace('@', "%40")),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("1 poster."), "{page}");
    assert!(page.contains("/audit/export.csv?agreement=&amp;actor=officer-"));
    let (status, _) = text(
        &auditor,
        format!("{}/audit/export.csv?actor=nobody%40x.example", app.address),
    )
    .await;
    assert_eq!(status, 400);
    // The log page names the parameter it could not use.
    let (status, page) = text(
        &auditor,
        format!("{}/audit?actor=nobody%40x.example", app.address),
    )
    .await;
    assert_eq!(status, 400);
    assert!(page.contains("actor:"), "{page}");
    assert_eq!(get("from=nope").await.unwrap().status().as_u16(), 400);
}

async fn the_list_page_export_link_downloads_the_filtered_agreements_with_the_session(
    app: TestApp,
) {
    app.load_examples().await;
    app.create_user(
        "revisor2@test.example",
        Role::Auditor,
        None,
        "ett långt lösenord",
    )
    .await;
    let (browser, _) = app
        .browser_login("revisor2@test.example", "ett långt lösenord")
        .await;
    let (status, page) = text(
        &browser,
        format!("{}/agreements?kind=iop&sort=-end&page=1", app.address),
    )
    .await;
    assert_eq!(status, 200);
    let href = page
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/api/v1/export?format=csv"))
        .unwrap_or_else(|| panic!("no CSV link: {page}"))
        .replace("&amp;", "&");
    assert_eq!(href, "/api/v1/export?format=csv&kind=iop");
    for format in ["json", "yaml", "ocds"] {
        assert!(page.contains(&format!("/api/v1/export?format={format}&amp;kind=iop")));
    }
    let r = browser
        .get(format!("{}{href}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, rows) = parse_excel_csv(&r.bytes().await.unwrap());
    let api = app.get("/api/v1/agreements?kind=iop&limit=100").await;
    let mut want: Vec<String> = api.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reference"].as_str().unwrap().to_owned())
        .collect();
    let mut got: Vec<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    want.sort();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // An enterprise user's list has no export links.
    let enterprise = app.client_for(Role::Enterprise).await;
    let (_, own) = text(&enterprise, format!("{}/agreements", app.address)).await;
    assert!(!own.contains("/api/v1/export"));
}

async fn an_enterprise_user_is_refused_the_auditor_pages(app: TestApp) {
    app.load_examples().await;
    let enterprise = app.client_for(Role::Enterprise).await;
    for path in [
        "/agreements/AGR-2025-0004/as-of?date=2026-01-01",
        "/agreements/AGR-2025-0004/diff?from=2026-01-01&to=2026-02-01",
        "/audit/verify",
        "/audit/export.csv",
    ] {
        let (status, _) = text(&enterprise, format!("{}{path}", app.address)).await;
        assert_eq!(status, 403, "{path}");
    }
    // Its agreement page has no history form; an auditor's does.
    let (_, page) = text(
        &enterprise,
        format!("{}/agreements/AGR-2025-0004", app.address),
    )
    .await;
    assert!(!page.contains("Historik"));
    let auditor = app.client_for(Role::Auditor).await;
    let (_, page) = text(
        &auditor,
        format!("{}/agreements/AGR-2025-0004", app.address),
    )
    .await;
    assert!(page.contains("<h2 id=\"h-history\">Historik</h2>"));
    assert!(page.contains("action=\"/agreements/AGR-2025-0004/diff\""));
}

/// The samples are registered now (real time) on a registry whose today is pinned to
/// 2026-11-22, as in `serve --demo`: the pinned day shows them as they stand, an earlier day
/// says when they were registered, and both pages say how the clock works.
async fn the_history_pages_follow_a_pinned_today(app: TestApp) {
    app.load_examples().await;
    let auditor = app.client_for(Role::Auditor).await;
    let registered = Utc::now()
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive();
    let page = |path: &str| text(&auditor, format!("{}{path}", app.address));
    let (status, on_the_day) = page("/agreements/AGR-2025-0004/as-of?date=2026-11-22").await;
    assert_eq!(status, 200, "{on_the_day}");
    assert!(!on_the_day.contains("fanns inte ännu"), "{on_the_day}");
    assert!(on_the_day.contains("<code>title</code>"), "{on_the_day}");
    assert!(
        on_the_day.contains("låst till 2026-11-22 (demoläge)"),
        "{on_the_day}"
    );
    let (status, before) = page("/agreements/AGR-2025-0004/as-of?date=2026-11-01").await;
    assert_eq!(status, 200, "{before}");
    assert!(
        before.contains(&format!(
            "fanns inte ännu den 2026-11-01: det registrerades {registered}."
        )),
        "{before}"
    );
    assert!(before.contains("href=\"/agreements/AGR-2025-0004/as-of?date=2026-11-22\""));
    // The diff up to the pinned day has every field new; the API agrees with the pages.
    let (status, diff) = page("/agreements/AGR-2025-0004/diff?from=2026-11-01&to=2026-11-22").await;
    assert_eq!(status, 200, "{diff}");
    assert!(diff.contains("alla fält är nya"), "{diff}");
    let r = app
        .get("/api/v1/agreements/AGR-2025-0004/as-of/2026-11-22")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["agreement"],
        app.agreement("AGR-2025-0004").await.body["agreement"]
    );
    assert_eq!(
        app.get("/api/v1/agreements/AGR-2025-0004/as-of/2026-11-21")
            .await
            .status,
        404
    );
}

crate::on_both_backends!(
    the_history_pages_follow_a_pinned_today,
    the_as_of_page_shows_the_old_value_after_a_change,
    the_diff_page_lists_the_changed_field_with_old_and_new_value,
    the_verify_page_says_the_chain_is_intact_and_names_an_edited_entry,
    the_audit_csv_parses_and_holds_the_filtered_entries,
    the_list_page_export_link_downloads_the_filtered_agreements_with_the_session,
    an_enterprise_user_is_refused_the_auditor_pages,
);
