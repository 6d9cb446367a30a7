//! Streamed exports: CSV for Excel read back with a real CSV parser and compared field by field,
//! the list filters, the registry file formats over HTTP, and the parameter errors.

use std::collections::{BTreeSet, HashMap};

use avtal::db::store;
use avtal::domain::agreement::{Agreement, Reference};
use avtal::domain::codes::PartyRole;
use avtal::registry::export::CSV_COLUMNS;
use avtal::registry::transfer::{RegistryFile, parse_file};
use serde_json::Value;

use crate::helpers::TestApp;

const NASTY_TITLE: &str = "=HYPERLINK(\"http://evil.example\";\"klicka\"); \"citat\"\r\nny rad";

/// A GET returning the raw bytes and the headers.
async fn download(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap_or_default().to_vec();
    (status, headers, body)
}

/// Adds a copy of AGR-2025-0004 whose title has `;`, quotes, a newline and a leading `=`.
async fn add_nasty_agreement(app: &TestApp) {
    let r = app.agreement("AGR-2025-0004").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut a = r.body["agreement"].clone();
    a["reference"] = Value::from("AGR-2025-9999");
    a["title"] = Value::from(NASTY_TITLE);
    let r = app.post("/api/v1/agreements", &a).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn parse_csv(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = body
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or_else(|| panic!("the CSV starts with a UTF-8 byte order mark"));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .from_reader(text);
    let headers: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("headers: {e}"))
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("row: {e}"))
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    (headers, rows)
}

fn names_of(
    a: &Agreement,
    roles: &[PartyRole],
    names: &HashMap<String, String>,
) -> (String, String) {
    let mut orgs: Vec<String> = Vec::new();
    for p in &a.parties {
        if roles.contains(&p.role) && !orgs.contains(&p.org.to_string()) {
            orgs.push(p.org.to_string());
        }
    }
    let n: Vec<String> = orgs
        .iter()
        .map(|o| names.get(o).cloned().unwrap_or_default())
        .collect();
    (n.join(" | "), orgs.join(" | "))
}

fn kronor(ore: i64) -> String {
    format!("{},{:02}", ore / 100, ore % 100)
}

async fn the_csv_export_reads_back_field_by_field_with_a_csv_parser(app: TestApp) {
    app.load_examples().await;
    add_nasty_agreement(&app).await;

    let (status, headers, body) = download(&app, "/api/v1/export?format=csv").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        disposition.contains("filename=\"avtal.csv\""),
        "{disposition}"
    );
    assert!(
        headers.get("content-length").is_none(),
        "the body is streamed, its length unknown up front"
    );

    // Every record ends in CRLF; the header line is `;`-separated.
    let text = String::from_utf8(body.clone()).unwrap_or_else(|e| panic!("UTF-8: {e}"));
    assert!(
        text.starts_with("\u{feff}Referens;Typ;Status;Titel;"),
        "{}",
        &text[..80]
    );
    assert!(text.ends_with("\r\n"));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );

    let (header, rows) = parse_csv(&body);
    assert_eq!(header, CSV_COLUMNS);
    assert_eq!(rows.len(), 16, "15 samples and the nasty one");
    let col = |name: &str| {
        CSV_COLUMNS
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };

    let (orgs, _) = store::all_parties(&app.registry.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let names: HashMap<String, String> = orgs
        .into_iter()
        .map(|o| (o.org_number.to_string(), o.name))
        .collect();
    for row in &rows {
        assert_eq!(row.len(), CSV_COLUMNS.len());
        let reference = &row[col("Referens")];
        let key = Reference::parse(reference).unwrap_or_else(|e| panic!("{e}"));
        let a = store::get_agreement(&app.registry.db, &key)
            .await
            .unwrap_or_else(|e| panic!("{reference}: {e}"))
            .data;
        let expect = |name: &str, value: String| {
            assert_eq!(row[col(name)], value, "{reference}: column {name}");
        };
        expect("Typ", a.kind.code().to_owned());
        expect("Status", a.status.code().to_owned());
        if a.title.starts_with('=') {
            expect("Titel", format!("'{}", a.title));
        } else {
            expect("Titel", a.title.clone());
        }
        expect("Diarienummer", a.diarienummer.clone().unwrap_or_default());
        expect("Rättslig grund", a.legal_basis.citation().to_owned());
        expect(
            "Förfarande",
            a.procedure_type
                .map(|p| p.code().to_owned())
                .unwrap_or_default(),
        );
        expect(
            "Värde (kr)",
            a.value
                .as_ref()
                .map(|v| kronor(v.amount_sek.ore()))
                .unwrap_or_default(),
        );
        expect(
            "Uppskattat totalvärde (kr)",
            a.value
                .as_ref()
                .and_then(|v| v.estimated_total_sek)
                .map(|v| kronor(v.ore()))
                .unwrap_or_default(),
        );
        let (buyer, buyer_no) = names_of(&a, &[PartyRole::Buyer], &names);
        expect("Köpare", buyer);
        expect("Köpare org.nr", buyer_no);
        let (partner, partner_no) =
            names_of(&a, &[PartyRole::Supplier, PartyRole::IopPartner], &names);
        expect("Leverantör/partner", partner);
        expect("Leverantör/partner org.nr", partner_no);
        let (funder, funder_no) = names_of(&a, &[PartyRole::Funder], &names);
        expect("Finansiär", funder);
        expect("Finansiär org.nr", funder_no);
        expect("Start", a.period.start.to_string());
        expect("Ursprungligt slut", a.period.original_end.to_string());
        expect("Aktuellt slut", a.period.current_end.to_string());
        expect(
            "Yttersta slut",
            a.period
                .outer_limit
                .map(|d| d.to_string())
                .unwrap_or_default(),
        );
        let objectives: Vec<&str> = a.social_objectives().iter().map(|o| o.code()).collect();
        expect("Sociala mål (BT-775)", objectives.join(" | "));
        expect(
            "Reserverat deltagande (BT-71)",
            a.eforms
                .bt_71
                .map(|c| c.code().to_owned())
                .unwrap_or_default(),
        );
        expect(
            "Reserverat genomförande (BT-736)",
            a.eforms
                .bt_736
                .map(|c| c.code().to_owned())
                .unwrap_or_default(),
        );
        expect(
            "Reservation",
            a.reservation().unwrap_or_default().to_owned(),
        );
    }

    // The nasty title survives `;`, quotes and the line break, behind its guard quote.
    let nasty = rows
        .iter()
        .find(|r| r[0] == "AGR-2025-9999")
        .unwrap_or_else(|| panic!("the nasty agreement is exported"));
    assert_eq!(nasty[col("Titel")], format!("'{NASTY_TITLE}"));

    // A sample with known values, spelled out.
    let r = rows
        .iter()
        .find(|r| r[0] == "AGR-2025-0004")
        .unwrap_or_else(|| panic!("AGR-2025-0004"));
    assert_eq!(r[col("Värde (kr)")], "1450000,00");
    assert_eq!(r[col("Reserverat deltagande (BT-71)")], "res-ws");
    assert_eq!(r[col("Sociala klausuler (LOU)")], "LOU 4 kap. 18 § 1 p.");
    assert_eq!(r[col("Optioner kvar")], "2");
    assert_eq!(r[col("Nästa tidsfrist")], "2026-12-31");
}

async fn the_export_takes_the_list_filters(app: TestApp) {
    app.load_examples().await;
    let filters = "active_on=2026-11-22&social_objective=opp";
    let list = app
        .get(&format!("/api/v1/agreements?{filters}&limit=500"))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let expected: BTreeSet<String> = crate::helpers::references(&list.body).into_iter().collect();
    assert!(!expected.is_empty() && expected.len() < 13, "{expected:?}");

    let (status, _, body) = download(&app, &format!("/api/v1/export?format=csv&{filters}")).await;
    assert_eq!(status, 200);
    let (_, rows) = parse_csv(&body);
    let got: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(got, expected);

    let (status, headers, body) =
        download(&app, &format!("/api/v1/export?format=json&{filters}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let file: RegistryFile =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("json export: {e}"));
    let got: BTreeSet<String> = file
        .agreements
        .iter()
        .map(|a| a.reference.to_string())
        .collect();
    assert_eq!(got, expected);

    let (status, _, body) = download(&app, &format!("/api/v1/export?format=yaml&{filters}")).await;
    assert_eq!(status, 200);
    let file = parse_file("export.yaml", &String::from_utf8_lossy(&body))
        .unwrap_or_else(|p| panic!("yaml export: {p}"));
    assert_eq!(file.agreements.len(), expected.len());
    assert_eq!(
        file.organisations.len(),
        21,
        "the registry file carries every organisation"
    );
}

async fn a_bad_export_parameter_is_named(app: TestApp) {
    for (query, field) in [
        ("format=xlsx", "format"),
        ("format=csv&active_on=2026-13-01", "active_on"),
        ("format=csv&kind=lease", "kind"),
        ("format=csv&colour=red", "colour"),
        ("format=csv&page=2", "page"),
    ] {
        let r = app.get(&format!("/api/v1/export?{query}")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let named = r.body["field"].as_str().unwrap_or_default().to_owned()
            + r.body["message"].as_str().unwrap_or_default();
        assert!(named.contains(field), "{query}: {}", r.body);
    }
}

/// Runs `avtal ARGS` with its standard output a pipe that is closed before anything is read,
/// as `avtal ... | head -0` does; returns the exit code and standard error.
fn run_into_closed_pipe(app: &TestApp, args: &[&str]) -> (Option<i32>, String) {
    let settings = &app.registry.settings;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"))
        .arg("--data-dir")
        .arg(&settings.data_dir)
        .args(args)
        .env("DATABASE_URL", settings.database_url().expose())
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run avtal: {e}"));
    drop(child.stdout.take());
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for avtal: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn the_command_line_ends_quietly_when_the_reader_of_its_output_goes_away(app: TestApp) {
    app.load_examples().await;
    let registry_file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contracts/examples/registry.yaml"
    );
    let agreement_file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contracts/examples/AGR-2026-0009.yaml"
    );
    for args in [
        &["export", "--format", "csv"][..],
        &["export", "--format", "yaml"],
        &["audit", "verify"],
        &["user", "list"],
        &["import", registry_file, agreement_file],
        &["token", "list"],
    ] {
        let (code, err) = run_into_closed_pipe(&app, args);
        assert_eq!(code, Some(0), "avtal {args:?}: {err}");
        assert!(!err.contains("panicked"), "avtal {args:?}: {err}");
        assert!(!err.contains("error"), "avtal {args:?}: {err}");
    }
}

crate::on_both_backends!(
    the_command_line_ends_quietly_when_the_reader_of_its_output_goes_away,
    the_csv_export_reads_back_field_by_field_with_a_csv_parser,
    the_export_takes_the_list_filters,
    a_bad_export_parameter_is_named,
);
