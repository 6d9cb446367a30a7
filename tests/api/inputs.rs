//! Input the registry refuses, and how it says so: every refusal of an API body or an import
//! names the field path, the value and the rule (also for what parsing finds), amounts are never
//! read through binary floating point, texts have limits, a NUL character is refused at every
//! door, and the Swedish surfaces (CSV, e-mail, error pages) speak Swedish.

#![expect(clippy::unwrap_used, reason = "a test reports a failure by panicking")]

use avtal::domain::access::Role;
use avtal::domain::limits::{LONG_TEXT_MAX_CHARS, TEXT_MAX_CHARS};
use avtal::registry::transfer::{self, ImportError, ImportProblem, parse_file};
use serde_json::{Value, json};

use crate::helpers::{TestApp, sample_today};

/// Sets `value` at a `/`-separated path of `doc`.
fn set(doc: &mut Value, path: &str, value: Value) {
    let ptr = format!("/{path}");
    match doc.pointer_mut(&ptr) {
        Some(slot) => *slot = value,
        None => {
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            doc.pointer_mut(parent).unwrap()[key] = value;
        }
    }
}

/// A new agreement: the sample AGR-2025-0004 under another reference.
async fn new_doc(app: &TestApp, reference: &str) -> Value {
    let mut doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    doc["reference"] = json!(reference);
    doc
}

async fn an_api_body_that_does_not_parse_is_refused_naming_field_value_and_rule(app: TestApp) {
    app.load_examples().await;
    let doc = new_doc(&app, "AGR-2026-0201").await;
    // (path in the body, value, field, value named, rule)
    let cases: Vec<(&str, Value, &str, &str, &str)> = vec![
        (
            "period/start",
            json!("2027-02-30"),
            "period.start",
            "2027-02-30",
            "date",
        ),
        ("kind", json!("lease"), "kind", "lease", "unknown_code"),
        (
            "value/amount_sek",
            json!(12.5),
            "value.amount_sek",
            "12.5",
            "amount_as_text",
        ),
        (
            "value/amount_sek",
            json!(99_999_999_999_999_999_999u128 as f64),
            "value.amount_sek",
            "",
            "too_large",
        ),
        (
            "value/amount_sek",
            json!("99999999999999999999"),
            "value.amount_sek",
            "99999999999999999999",
            "too_large",
        ),
        (
            "share_requirement_percent",
            json!("many"),
            "share_requirement_percent",
            "many",
            "type",
        ),
    ];
    for (path, value, field, named, rule) in cases {
        let mut bad = doc.clone();
        set(&mut bad, path, value);
        let r = app.post("/api/v1/agreements", &bad).await;
        assert_eq!(r.status, 422, "{path}: {}", r.body);
        assert_eq!(r.body["error"], "validation_failed", "{}", r.body);
        assert_eq!(r.body["field"], json!(field), "{path}: {}", r.body);
        assert_eq!(r.body["rule"], json!(rule), "{path}: {}", r.body);
        if !named.is_empty() {
            assert_eq!(r.body["value"], json!(named), "{path}: {}", r.body);
        }
        assert_eq!(r.body["errors"][0]["field"], json!(field), "{}", r.body);
    }
    // The decimal number's refusal says how to write it.
    let mut bad = doc.clone();
    set(&mut bad, "value/amount_sek", json!(12.5));
    let r = app.post("/api/v1/agreements", &bad).await;
    let m = r.body["message"].as_str().unwrap_or_default();
    assert!(m.contains("\"12.5\" in quotes"), "{m}");
    // Written as text, with a decimal comma, it is taken to the öre.
    let mut good = doc.clone();
    set(&mut good, "value/amount_sek", json!("1 450 000,5"));
    let r = app.post("/api/v1/agreements", &good).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["agreement"]["value"]["amount_sek"], "1450000.50");
    // A body that is not JSON at all stays a 400.
    let r = app
        .post_raw(
            "/api/v1/agreements",
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A page of the change log far beyond any: 400 naming `page`, never a 500.
    let r = app.get("/api/v1/audit?page=18446744073709551615").await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("page")),
        "{}",
        r.body
    );
    // A path parameter of the wrong type is named, in JSON, not axum's plain text.
    let r = app.post("/api/v1/outbox/abc/retry", &json!({})).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("id")),
        "{}",
        r.body
    );
}

async fn a_text_longer_than_its_limit_is_refused_naming_the_field(app: TestApp) {
    app.load_examples().await;
    let doc = new_doc(&app, "AGR-2026-0202").await;
    // 1 MB of notes is refused (the body limit allows it), nothing is stored.
    let mut bad = doc.clone();
    bad["notes"] = json!("n".repeat(LONG_TEXT_MAX_CHARS + 1));
    let r = app.post("/api/v1/agreements", &bad).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        (r.body["field"].as_str(), r.body["rule"].as_str()),
        (Some("notes"), Some("max_length")),
        "{}",
        r.body
    );
    assert!(
        r.body["value"].as_str().unwrap_or_default().chars().count() < 100,
        "the value is shown shortened"
    );
    assert_eq!(app.agreement("AGR-2026-0202").await.status, 404);
    // A short text field, in a row.
    let mut bad = doc.clone();
    set(
        &mut bad,
        "parties/0/unit",
        json!("u".repeat(TEXT_MAX_CHARS + 1)),
    );
    bad["social_clauses"] = json!([]);
    let r = app.post("/api/v1/agreements", &bad).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "parties[0].unit"),
        "{}",
        r.body
    );
    // Just at the limit is taken.
    let mut good = doc.clone();
    good["notes"] = json!("n".repeat(LONG_TEXT_MAX_CHARS));
    let r = app.post("/api/v1/agreements", &good).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Organisations and contacts too.
    let r = app
        .post(
            "/api/v1/organisations",
            &json!({"org_number": "556677-8899", "name": "Bolaget AB", "legal_form": "aktiebolag",
                    "kind": "other_supplier", "parent": "p".repeat(TEXT_MAX_CHARS + 1)}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (422, Some("parent")),
        "{}",
        r.body
    );
}

async fn a_nul_character_is_refused_at_every_door(app: TestApp) {
    app.load_examples().await;
    // The agreement form shows itself again with the error at the input (422), on both
    // backends: never a 500 (forms::a_nul_typed_into_the_form_... checks where it shows).
    let officer = app.client_for(Role::Officer).await;
    let mut form = crate::forms::complete_iop_form("AGR-2027-0410");
    form.push(("notes", "före\u{0}efter".into()));
    let r = officer
        .post(format!("{}/agreements/new", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let page = r.text().await.unwrap_or_default();
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("id=\"e-notes\"") && page.contains("NUL"),
        "{page}"
    );
    assert_eq!(app.agreement("AGR-2027-0410").await.status, 404);
    let r = officer
        .get(format!("{}/agreements?q=a%00b", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // The export's filters.
    let r = app.get("/api/v1/export?format=csv&q=a%00b").await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("q")),
        "{}",
        r.body
    );
    // The import: the record, the field and the rule.
    let yaml = "agreements: []\norganisations:\n  - org_number: 556677-8899\n    name: \"Bolaget\\0AB\"\n    legal_form: aktiebolag\n    kind: other_supplier\n";
    let file = parse_file("nul.yaml", yaml).unwrap_or_else(|p| panic!("{p}"));
    let problems = refused(&app, "nul.yaml", file).await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        (
            problems[0].record.as_str(),
            problems[0].field.as_str(),
            problems[0].rule.as_str()
        ),
        ("organisations no. 1 (556677-8899)", "name", "no_nul")
    );
    let r = app.get("/api/v1/organisations/556677-8899").await;
    assert_eq!(r.status, 404, "nothing was written");
}

async fn refused(app: &TestApp, name: &str, file: transfer::RegistryFile) -> Vec<ImportProblem> {
    let mut quiet = |_: usize, _: usize| {};
    match transfer::import(&app.registry, vec![(name.into(), file)], &mut quiet).await {
        Err(ImportError::Invalid(p)) => p,
        other => panic!("the import must be refused: {other:?}"),
    }
}

/// The sample AGR-2025-0004 as a registry file of its own (JSON, which is YAML), with the value
/// at `path` written as the raw text `raw`.
async fn sample_file_with(app: &TestApp, path: &str, raw: &str) -> String {
    let mut doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    set(&mut doc, path, json!("@@RAW@@"));
    let file = json!({"agreements": [doc]});
    serde_json::to_string_pretty(&file)
        .unwrap()
        .replacen("\"@@RAW@@\"", raw, 1)
}

async fn an_import_error_found_while_parsing_names_record_field_value_and_rule(app: TestApp) {
    app.load_examples().await;
    // (path, raw text, field, value named, rule)
    let cases = [
        (
            "period/start",
            "\"2027-02-30\"",
            "period.start",
            "2027-02-30",
            "date",
        ),
        ("kind", "\"lease\"", "kind", "lease", "unknown_code"),
        (
            "value/amount_sek",
            "1450000.5",
            "value.amount_sek",
            "1450000.5",
            "amount_as_text",
        ),
        (
            "value/amount_sek",
            "99999999999999999999",
            "value.amount_sek",
            "",
            "too_large",
        ),
        (
            "share_requirement_percent",
            "\"many\"",
            "share_requirement_percent",
            "many",
            "type",
        ),
    ];
    for (path, raw, field, value, rule) in cases {
        let text = sample_file_with(&app, path, raw).await;
        let p = parse_file("fel.yaml", &text)
            .err()
            .unwrap_or_else(|| panic!("{raw} must be refused"));
        assert_eq!(p.file, "fel.yaml");
        assert_eq!(p.record, "agreements no. 1 (AGR-2025-0004)", "{p}");
        assert_eq!(p.field, field, "{p}");
        if !value.is_empty() {
            assert_eq!(p.value, value, "{p}");
        }
        assert_eq!(p.rule, rule, "{p}");
        assert!(p.message.contains("line"), "{p}");
    }
    // The same amount as text is read exactly.
    let text = sample_file_with(&app, "value/amount_sek", "\"1 450 000,5\"").await;
    let file = parse_file("rätt.yaml", &text).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(
        file.agreements[0].value.as_ref().unwrap().amount_sek.ore(),
        145_000_050
    );
    // A missing field is named with its record.
    let p = parse_file(
        "kort.yaml",
        "contacts:\n  - email: a@b.example\n    name: A\n    role: other\n",
    )
    .err()
    .unwrap();
    assert_eq!(
        (p.record.as_str(), p.field.as_str(), p.rule.as_str()),
        ("contacts no. 1 (a@b.example)", "organisation", "required"),
        "{p}"
    );
    // A text too long for its field, found by the rules.
    let long = format!("\"{}\"", "n".repeat(LONG_TEXT_MAX_CHARS + 5));
    let text = sample_file_with(&app, "notes", &long).await;
    let file = parse_file("lang.yaml", &text).unwrap_or_else(|p| panic!("{p}"));
    let problems = refused(&app, "lang.yaml", file).await;
    assert!(
        problems.iter().any(|p| p.field == "notes"
            && p.rule == "max_length"
            && p.record == "agreements no. 1 (AGR-2025-0004)"),
        "{problems:?}"
    );
}

async fn a_file_over_the_yaml_budget_gets_a_plain_sentence(_app: TestApp) {
    let mut text = String::from(
        "contacts:\n  - &c {email: x@y.example, name: x, organisation: 212900-0010, role: other}\n",
    );
    for _ in 0..60_000 {
        text.push_str("  - *c\n");
    }
    let p = parse_file("bomb.yaml", &text).err().unwrap();
    assert_eq!(p.rule, "yaml_budget", "{p}");
    assert!(p.message.contains("anchors or aliases"), "{p}");
    assert!(
        !p.message.contains('{') && !p.message.contains("budget breached"),
        "no Rust debug text: {p}"
    );
}

async fn swedish_surfaces_speak_swedish(app: TestApp) {
    app.load_examples().await;
    // The CSV's "Tidsfristen avser" as the pages say it.
    let r = app
        .client
        .get(format!("{}/api/v1/export?format=csv", app.address))
        .send()
        .await
        .unwrap();
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(';').collect();
    let col = header
        .iter()
        .position(|c| *c == "Tidsfristen avser")
        .unwrap();
    let mut reports = 0;
    for line in &lines[1..] {
        let cell = line.split(';').nth(col).unwrap_or_default();
        for english in [
            "report:",
            "for the period ending",
            "_report",
            "option_decision",
            "decide on",
        ] {
            assert!(!cell.contains(english), "English in the CSV: {cell}");
        }
        if cell.starts_with("Rapport: ") {
            assert!(cell.contains(" för perioden till "), "{cell}");
            reports += 1;
        }
    }
    assert!(reports > 0, "some next deadline is a report:\n{csv}");

    // A bad list filter in the browser: a Swedish page, no English parser message.
    let officer = app.client_for(Role::Officer).await;
    let r = officer
        .get(format!("{}/agreements?active_on=22/11/2026", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("ÅÅÅÅ-MM-DD"), "{page}");
    assert!(
        !page.contains("is not a date") && !page.contains("invalid"),
        "{page}"
    );

    // An unknown page: the Swedish not-found page for a browser, JSON under /api/.
    let r = officer
        .get(format!("{}/finns-inte", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Sidan finns inte"));
    let r = officer
        .get(format!("{}/api/v1/finns-inte", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found");

    // A report reminder names the report as the pages do.
    let agreements = app.get("/api/v1/agreements?limit=500").await;
    let mut report_day = None;
    for a in agreements.body["items"].as_array().unwrap() {
        let reference = a["reference"].as_str().unwrap();
        let one = app.agreement(reference).await;
        for d in one.body["derived"]["deadlines"].as_array().unwrap() {
            if d["kind"] == "report"
                && d["report"]["kind"] == "annual_report"
                && let Some(first) = d["reminders"].as_array().and_then(|r| r.first())
            {
                let day = first["date"].as_str().unwrap().to_owned();
                if day.as_str() >= "2026-11-22"
                    && report_day.as_ref().is_none_or(|d: &String| day < *d)
                {
                    report_day = Some(day);
                }
            }
        }
    }
    let day: chrono::NaiveDate = report_day.unwrap().parse().unwrap();
    assert!(day >= sample_today());
    let s = (*app.registry.settings).clone();
    let composer = avtal::notify::Composer::new(&s).unwrap();
    avtal::notify::sweep(&app.registry.db, &s, &composer, day, chrono::Utc::now())
        .await
        .unwrap();
    let rows = avtal::db::outbox::list(&app.registry.db, None, 500)
        .await
        .unwrap();
    let report = rows
        .iter()
        .find(|r| r.dedupe_key.contains("/report/") && r.body_text.contains("årsrapport"))
        .unwrap_or_else(|| {
            panic!(
                "no report reminder naming the årsrapport: {:?}",
                rows.iter().map(|r| &r.body_text).collect::<Vec<_>>()
            )
        });
    assert!(
        report.body_text.contains("Rapporten (årsrapport)")
            && !report.body_text.contains("annual report"),
        "{}",
        report.body_text
    );
}

async fn a_malformed_query_on_a_page_gets_the_swedish_error_page_naming_it(app: TestApp) {
    app.load_examples().await;
    let admin = app.client_for(Role::Admin).await;
    let cases = [
        ("/agreements/AGR-2025-0001?ok=saved&ok=action", "ok"),
        ("/outbox?queued=många", "queued"),
        (
            "/agreements/AGR-2025-0001/as-of?date=2026-01-01&date=2026-02-01",
            "date",
        ),
        (
            "/agreements/AGR-2025-0001/diff?from=2026-01-01&from=2026-02-01",
            "from",
        ),
        ("/audit?page=först", "page"),
        ("/agreements/new?kind=iop&kind=lou", "kind"),
        ("/admin/users?ok=a&ok=b", "ok"),
        ("/organisations/212900-0028/edit?next=/a&next=/b", "next"),
        ("/agreements?limit=alla", "limit"),
    ];
    for (path, param) in cases {
        let r = admin
            .get(format!("{}{path}", app.address))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        let page = r.text().await.unwrap();
        assert!(page.contains("Felaktig begäran"), "{path}: {page}");
        assert!(
            page.contains(&format!("{param}:")),
            "{path} names {param}: {page}"
        );
        assert!(!page.contains("Failed to deserialize"), "{path}: {page}");
    }
    // The login page, before anyone is signed in.
    let r = reqwest::Client::new()
        .get(format!("{}/login?next=/a&next=/b", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("Felaktig begäran"));
}

crate::on_both_backends!(
    a_malformed_query_on_a_page_gets_the_swedish_error_page_naming_it,
    an_api_body_that_does_not_parse_is_refused_naming_field_value_and_rule,
    a_text_longer_than_its_limit_is_refused_naming_the_field,
    a_nul_character_is_refused_at_every_door,
    an_import_error_found_while_parsing_names_record_field_value_and_rule,
    a_file_over_the_yaml_budget_gets_a_plain_sentence,
    swedish_surfaces_speak_swedish,
);
