//! Contract documents: every template renders every sample agreement it applies to into a PDF/A
//! whose text holds the parties, dates, amounts and reports; the same agreement gives the same
//! bytes; missing fields give 422; a missing typst gives 503 while the rest answers; and hostile
//! strings come out literally.

use std::path::PathBuf;

use avtal::documents::view::{Directory, occurrences};
use avtal::documents::{DocumentRequest, Renderer, sha256_hex};
use avtal::domain::agreement::Agreement;
use avtal::text::swedish_date;
use proptest::prelude::*;
use serde_json::json;

use crate::helpers::{Backend, TestApp, sample_today, spawn_with, test_settings};

/// Whether the typst CLI of `AVTAL_TYPST` is there. Locally a test without it is skipped; under
/// `CI` it fails, so CI never passes without having rendered.
fn typst_available() -> bool {
    let found = std::env::var_os("AVTAL_TYPST")
        .map(PathBuf::from)
        .is_some_and(|p| p.is_file());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but AVTAL_TYPST does not name the typst CLI (run scripts/setup.sh)");
        }
        eprintln!("skipped: set AVTAL_TYPST to the typst CLI to run the document tests");
    }
    found
}

/// The text of a PDF as pdftotext reads it, with all whitespace removed (tables and line
/// breaks split text at spaces, which says nothing about whether it is there).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap_or_else(|e| panic!("write: {e}"));
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext is needed (poppler-utils): {e}"));
    assert!(out.status.success(), "pdftotext failed");
    squeeze(&String::from_utf8_lossy(&out.stdout))
}

/// The running header and footer strings of a document of AGR-2025-0001.
const RUNNING_0001: &[&str] = &[
    "Dnr FAR 2024/1187 (sample)",
    "·",
    "Avtal AGR-2025-0001",
    "Överenskommelse om idéburet offentligt partnerskap",
    "AGR-2025-0001, version 1",
];

/// The text of a PDF in content order (`-raw`: no joining of a `-` at a line end with the next
/// line), without its running header and footer lines (`running`), which come in the middle of a
/// paragraph that runs over a page break.
fn body_text(pdf: &[u8], running: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap_or_else(|e| panic!("write: {e}"));
    let out = std::process::Command::new("pdftotext")
        .arg("-raw")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext is needed (poppler-utils): {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let kept: Vec<&str> = text
        .lines()
        .map(|l| l.trim_start_matches('\u{c}'))
        .filter(|l| {
            let mut rest = (*l).to_owned();
            for r in running {
                rest = rest.replace(*r, "");
            }
            let words: Vec<&str> = rest.split_whitespace().collect();
            let page_number = matches!(words.as_slice(), ["sida", n, "av", m]
                if n.bytes().all(|b| b.is_ascii_digit()) && m.bytes().all(|b| b.is_ascii_digit()));
            let was_running = rest.len() != l.len() || page_number;
            !(was_running && (words.is_empty() || page_number))
        })
        .collect();
    squeeze(&kept.join("\n"))
}

fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect()
}

fn assert_has(text: &str, needle: &str, what: &str) {
    assert!(
        text.contains(&squeeze(needle)),
        "{what}: {needle:?} is not in the PDF text"
    );
}

impl TestApp {
    async fn download(&self, id: i64) -> (u16, String, String, Vec<u8>) {
        let resp = self
            .client
            .get(format!("{}/api/v1/documents/{id}", self.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("download: {e}"));
        let status = resp.status().as_u16();
        let header = |h: &str| {
            resp.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (ct, cd) = (header("content-type"), header("content-disposition"));
        let bytes = resp.bytes().await.unwrap_or_default().to_vec();
        (status, ct, cd, bytes)
    }
}

/// The samples each template must render; the rest of the agreements of its kinds lack its event.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "iop",
        &[
            "AGR-2025-0001",
            "AGR-2024-0003",
            "AGR-2024-0010",
            "AGR-2026-0002",
            "AGR-2026-0009",
        ],
    ),
    (
        "procurement",
        &[
            "AGR-2024-0008",
            "AGR-2025-0004",
            "AGR-2025-0005",
            "AGR-2025-0007",
            "AGR-2025-0013",
            "AGR-2026-0006",
            "AGR-2026-0011",
        ],
    ),
    (
        "extension_notice",
        &["AGR-2025-0001", "AGR-2024-0008", "AGR-2025-0005"],
    ),
    ("termination_notice", &["AGR-2024-0010"]),
    (
        "amendment",
        &[
            "AGR-2025-0001",
            "AGR-2024-0008",
            "AGR-2025-0005",
            "AGR-2025-0013",
        ],
    ),
    (
        "report_request",
        &[
            "AGR-2024-0003",
            "AGR-2024-0010",
            "AGR-2025-0001",
            "AGR-2025-0004",
            "AGR-2025-0005",
            "AGR-2025-0007",
            "AGR-2026-0002",
            "AGR-2026-0009",
        ],
    ),
];

async fn org_name(app: &TestApp, org: &str) -> String {
    let r = app.get(&format!("/api/v1/organisations/{org}")).await;
    assert_eq!(r.status, 200, "{org}: {}", r.body);
    r.body["name"].as_str().unwrap_or_default().to_owned()
}

async fn org_street(app: &TestApp, org: &str) -> Option<String> {
    let r = app.get(&format!("/api/v1/organisations/{org}")).await;
    r.body["address"]["street"].as_str().map(str::to_owned)
}

async fn every_template_renders_every_sample_it_applies_to(app: TestApp) {
    if !typst_available() {
        return;
    }
    app.load_examples().await;
    let templates = app.get("/api/v1/templates").await;
    assert_eq!(templates.status, 200);
    assert_eq!(templates.body["items"].as_array().map(Vec::len), Some(6));
    for (template, references) in EXPECTED {
        for reference in *references {
            let case = format!("{template} for {reference}");
            let r = app
                .post(
                    &format!("/api/v1/agreements/{reference}/documents"),
                    &json!({"template": template}),
                )
                .await;
            assert_eq!(r.status, 201, "{case}: {}", r.body);
            let id = r.body["id"].as_i64().unwrap_or_default();
            let (status, content_type, disposition, pdf) = app.download(id).await;
            assert_eq!(status, 200, "{case}: download");
            assert_eq!(content_type, "application/pdf", "{case}");
            let file_name = r.body["file_name"].as_str().unwrap_or_default();
            assert!(
                disposition.contains(file_name) && file_name.ends_with(".pdf"),
                "{case}: {disposition}"
            );
            assert!(pdf.starts_with(b"%PDF"), "{case}: not a PDF");
            assert_eq!(r.body["sha256"].as_str(), Some(sha256_hex(&pdf).as_str()));
            let raw = String::from_utf8_lossy(&pdf);
            assert!(
                raw.contains("<pdfaid:part>2</pdfaid:part>")
                    && raw.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
                "{case}: no PDF/A-2b identification in the XMP metadata"
            );

            let stored = app.agreement(reference).await;
            let a: Agreement = serde_json::from_value(stored.body["agreement"].clone())
                .unwrap_or_else(|e| panic!("{case}: {e}"));
            let text = pdf_text(&pdf);
            assert_has(&text, reference, &case);
            assert_has(&text, "sida 1 av", &case);
            if let Some(d) = &a.diarienummer {
                assert_has(&text, d, &case);
            }
            match *template {
                "iop" | "procurement" => {
                    assert_has(&text, &a.title, &case);
                    for p in &a.parties {
                        assert_has(&text, &org_name(&app, p.org.as_str()).await, &case);
                        assert_has(&text, p.org.as_str(), &case);
                        if p.role.code() != "funder" {
                            let street = org_street(&app, p.org.as_str()).await;
                            assert_has(&text, &street.unwrap_or_default(), &case);
                        }
                        if let Some(unit) = &p.unit {
                            assert_has(&text, unit, &case);
                        }
                    }
                    assert_has(&text, &swedish_date(a.period.start), &case);
                    assert_has(&text, &swedish_date(a.period.current_end), &case);
                    if let Some(v) = &a.value {
                        assert_has(&text, &v.amount_sek.format_swedish(), &case);
                    }
                    for r in &a.reporting {
                        for o in occurrences(&a, r) {
                            assert_has(
                                &text,
                                &swedish_date(o.due),
                                &format!("{case}, report {}", r.kind),
                            );
                        }
                    }
                    if let Some(iop) = &a.iop {
                        for c in &iop.contributions {
                            if let Some(amount) = c.amount_sek {
                                assert_has(&text, &amount.format_swedish(), &case);
                            }
                        }
                    }
                }
                "extension_notice" => {
                    let o = a
                        .options
                        .iter()
                        .filter(|o| o.state.code() == "exercised")
                        .max_by_key(|o| o.seq)
                        .unwrap_or_else(|| panic!("{case}: no exercised option"));
                    let before = a.term_end_before_option(o.seq);
                    assert_has(&text, &format!("option nr {}", o.seq), &case);
                    assert_has(&text, &swedish_date(before), &case);
                }
                "termination_notice" => {
                    let n = a
                        .termination
                        .as_ref()
                        .and_then(|t| t.notice.as_ref())
                        .unwrap_or_else(|| panic!("{case}: no notice"));
                    assert_has(&text, &swedish_date(n.received_on), &case);
                    assert_has(&text, &swedish_date(n.effective_end), &case);
                    assert_has(&text, &org_name(&app, n.by.as_str()).await, &case);
                }
                "amendment" => {
                    let m = a.amendments.last().unwrap_or_else(|| panic!("{case}"));
                    let (chapter, section) = m.ground.code().split_once(':').unwrap_or_default();
                    if a.kind.is_procurement() {
                        let words = match m.ground.code() {
                            "17:9" => "ändring av mindre värde",
                            "17:10" => "ändrings- eller optionsklausul",
                            "17:11" => "kompletterande beställning",
                            "17:12" => "oförutsebara omständigheter",
                            "17:13" => "byte av leverantör",
                            _ => "inte är väsentlig",
                        };
                        assert_has(&text, words, &case);
                        assert_has(&text, &format!("{chapter} kap. {section} § LOU"), &case);
                    } else {
                        // An IOP is changed under its own change clause, never under LOU.
                        assert_has(&text, "(Ändringar och tillägg) i överenskommelsen", &case);
                        assert!(!text.contains("LOU"), "{case}: an IOP amendment cites LOU");
                    }
                    assert!(
                        !text.contains("BT-200") && !text.contains(m.ground.bt200()),
                        "{case}: eForms codes are not contract language"
                    );
                    assert_has(&text, &m.rationale, &case);
                    assert_has(&text, &swedish_date(m.date), &case);
                    if let Some(v) = m.value_change_sek {
                        assert_has(&text, &v.format_swedish(), &case);
                    }
                }
                "report_request" => {
                    let event = r.body["event"].as_str().unwrap_or_default().to_owned();
                    let period_end = event.rsplit(':').next().unwrap_or_default();
                    let period_end = avtal::domain::dates::parse_iso_date(period_end)
                        .unwrap_or_else(|e| panic!("{case}: event {event}: {e}"));
                    assert_has(&text, &swedish_date(period_end), &case);
                    let responsible = a
                        .reporting
                        .iter()
                        .find(|r| event.contains(&format!(":{}:", r.kind)))
                        .map(|r| r.responsible.clone())
                        .unwrap_or_else(|| panic!("{case}: event {event}"));
                    assert_has(&text, &org_name(&app, responsible.as_str()).await, &case);
                }
                other => panic!("no checks for template {other}"),
            }
            clause_checks(template, &a, &text, &case);
            assert!(!text.contains("Dnr–"), "{case}: a page shows \"Dnr –\"");
            assert!(
                !iso_date_in(&text),
                "{case}: a date in prose is not in Swedish long form"
            );
        }
    }
    let list = app.get("/api/v1/agreements/AGR-2025-0001/documents").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(4));
}

/// Whether `text` holds an ISO date (`2028-01-14`) where a Swedish long date belongs.
fn iso_date_in(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(10).any(|w| {
        w.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
    })
}

/// The headings and key sentences each template's clauses must put in the PDF of `a`.
fn clause_checks(template: &str, a: &Agreement, text: &str, case: &str) {
    let count = |needle: &str| text.matches(&squeeze(needle)).count();
    let t = &a.terms;
    match template {
        "procurement" => {
            for heading in [
                "Avtalshandlingar och deras inbördes ordning",
                "Pris och prisjustering",
                "Fakturering och betalning",
                "Underleverantörer",
                "Försäkring",
                "Skadestånd och ansvarsbegränsning",
                "Befrielsegrunder (force majeure)",
                "Sekretess och tystnadsplikt",
                "Personuppgifter",
                "Överlåtelse av avtalet",
                "Ändringar och tillägg",
                "Uppsägning och hävning",
                "Tillämplig lag och tvister",
                "BILAGA 1 TILL AVTAL",
                "Särskilda kontraktsvillkor – sociala hänsyn",
                "Peppol BIS Billing 3",
                "lagen (2018:1277)",
                "räntelagen (1975:635)",
                "17 kap. 17 § LOU",
                "offentlighets- och sekretesslagen (2009:400)",
            ] {
                assert_has(text, heading, case);
            }
            if !a.social_clauses.is_empty() {
                assert_has(
                    text,
                    "Sociala hänsyn: krav, uppföljning och sanktioner",
                    case,
                );
                let penalty = t
                    .penalty
                    .as_ref()
                    .unwrap_or_else(|| panic!("{case}: penalty"));
                assert_has(text, &penalty.amount_sek.format_swedish(), case);
                assert_has(text, "häva kontraktet", case);
            }
            if let Some(adj) = t.price.as_ref().and_then(|p| p.adjustment.as_ref()) {
                assert_has(text, &adj.index, case);
                assert_has(
                    text,
                    &avtal::documents::view::swedish_month(&adj.base_month),
                    case,
                );
            }
            let days = t.invoicing.as_ref().map(|i| i.payment_days).unwrap_or(0);
            assert_has(text, &format!("inom {days} dagar"), case);
            if let Some(i) = &t.insurance {
                assert_has(text, &i.liability_sek.format_swedish(), case);
            }
            assert_eq!(
                count("Arbetsrättsliga villkor") > 0,
                t.labour_law_conditions,
                "{case}: labour-law clause iff the agreement says they apply"
            );
            if t.labour_law_conditions {
                assert_has(text, "17 kap. 2–4 §§ LOU", case);
            }
            assert_eq!(
                count("Personuppgiftsbiträdesavtal") > 0,
                t.personal_data.code() == "processor",
                "{case}: processing annex iff the supplier processes personal data"
            );
            for s in &t.subcontractors {
                assert_has(text, &s.name, case);
            }
            if let Some(s) = &t.special_terms {
                assert_has(text, s, case);
            }
        }
        "iop" => {
            for heading in [
                "Bakgrund och syfte",
                "Gemensam värdegrund",
                "Målgrupp, mål och hur de följs upp",
                "Parternas insatser",
                "Den idéburna partens självständighet",
                "Styrning och samverkan",
                "Uppföljning och rapportering",
                "Användning av medel, insyn och återbetalning",
                "Sekretess och tystnadsplikt",
                "26 kap. 1 §",
                "Personuppgifter",
                "Rättslig bedömning och statsstöd",
                "inte är ett offentligt kontrakt",
                "Uppsägning och hävning",
                "Tvister",
                "dialog",
            ] {
                assert_has(text, heading, case);
            }
            let aid = t
                .state_aid
                .as_ref()
                .unwrap_or_else(|| panic!("{case}: state aid"));
            assert_has(text, &aid.reasoning, case);
            assert_eq!(
                count("Kommunikation") > 0,
                !t.excluded_clauses.iter().any(|c| c == "iop_communication"),
                "{case}: the communication clause follows its switch"
            );
        }
        "extension_notice" | "termination_notice" | "report_request" => {
            // A letter: one sender signs, with addresses and the date it is made.
            assert_eq!(count("Namnförtydligande"), 1, "{case}: one signature block");
            assert_has(text, "Avsändare", case);
            assert_has(text, "Mottagare", case);
            assert_has(text, &swedish_date(sample_today()), case);
            assert_eq!(
                count("Mottagningsbevis") > 0,
                !t.excluded_clauses.iter().any(|c| c == "receipt"),
                "{case}: the receipt block follows its switch"
            );
            if template == "report_request" {
                assert_has(text, "Rapportperioder och status", case);
                assert_has(text, "Vad rapporten ska innehålla", case);
                let states = [
                    "kommande",
                    "skalämnas",
                    "inlämnad",
                    "godkänd",
                    "försenad",
                    "eskalerad",
                ];
                assert!(
                    states.iter().any(|s| text.contains(s)),
                    "{case}: no period state"
                );
            }
        }
        "amendment" => {
            assert!(count("Namnförtydligande") >= 2, "{case}: both parties sign");
        }
        _ => {}
    }
}

async fn the_same_agreement_rendered_twice_has_the_same_sha256(app: TestApp) {
    if !typst_available() {
        return;
    }
    app.load_examples().await;
    let path = "/api/v1/agreements/AGR-2025-0001/documents";
    let first = app.post(path, &json!({"template": "iop"})).await;
    let second = app.post(path, &json!({"template": "iop"})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(second.status, 201, "{}", second.body);
    assert_ne!(first.body["id"], second.body["id"]);
    assert_eq!(first.body["sha256"], second.body["sha256"]);
    assert_eq!(first.body["agreement_version"], json!(1));
    assert_eq!(first.body["template_version"], json!("2.0.0"));
    assert_eq!(first.body["created_by"], json!(app.admin_actor()));
}

async fn a_draft_iop_without_required_fields_is_refused_with_every_missing_field(app: TestApp) {
    app.load_examples().await;
    let r = app
        .post(
            "/api/v1/agreements/AGR-2027-0012/documents",
            &json!({"template": "iop"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
    let fields: Vec<&str> = errors.iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "diarienummer",
            "decision",
            "contacts.signatories",
            "iop.value_base",
            "iop.goals",
            "terms.insurance",
            "iop.legal_assessment",
            "terms.state_aid"
        ],
        "{}",
        r.body
    );
    for e in &errors {
        let m = e["message"].as_str().unwrap_or_default();
        assert!(m.contains("Saknas") && m.contains("Missing"), "{m}");
        assert_eq!(e["rule"], json!("required_for_document"));
    }
    let none = app.get("/api/v1/agreements/AGR-2027-0012/documents").await;
    assert_eq!(none.body["items"], json!([]));
}

async fn a_template_that_does_not_apply_or_does_not_exist_is_refused(app: TestApp) {
    app.load_examples().await;
    let cases = [
        (json!({"template": "iop"}), "AGR-2025-0004", 422),
        (json!({"template": "no_such"}), "AGR-2025-0004", 400),
        (
            json!({"template": "iop", "colour": "red"}),
            "AGR-2025-0001",
            422,
        ),
        (json!({"template": "iop"}), "AGR-2099-9999", 404),
        (
            json!({"template": "termination_notice"}),
            "AGR-2025-0004",
            422,
        ),
    ];
    for (body, reference, status) in cases {
        let r = app
            .post(&format!("/api/v1/agreements/{reference}/documents"), &body)
            .await;
        assert_eq!(r.status, status, "{body} for {reference}: {}", r.body);
    }
    assert_eq!(app.get("/api/v1/documents/999").await.status, 404);
    assert_eq!(app.get("/api/v1/documents/abc").await.status, 400);
}

async fn a_batch_stores_every_complete_agreement_and_refuses_the_rest(app: TestApp) {
    if !typst_available() {
        return;
    }
    app.load_examples().await;
    let registry = &app.registry;
    let kinds = registry
        .renderer
        .catalog()
        .get("iop")
        .map(|t| t.manifest.kinds.clone())
        .unwrap_or_default();
    let references: Vec<_> = avtal::demo::example_files()
        .unwrap_or_else(|e| panic!("samples: {e:?}"))
        .into_iter()
        .flat_map(|(_, f)| f.agreements)
        .filter(|a| kinds.contains(&a.kind))
        .map(|a| a.reference)
        .collect();
    assert!(references.len() > 2, "{references:?}");
    let req = DocumentRequest {
        template: "iop".into(),
        ..DocumentRequest::default()
    };
    let (mut stored, mut refused) = (Vec::new(), Vec::new());
    avtal::registry::documents::generate_many(
        registry,
        references.clone(),
        &req,
        "test",
        |key, r| {
            match r {
                Ok((meta, rendered)) => {
                    assert_eq!(meta.agreement_reference, key.as_str());
                    assert_eq!(meta.sha256, sha256_hex(&rendered.pdf));
                    stored.push(key);
                }
                Err(avtal::documents::RenderError::MissingFields(_)) => refused.push(key),
                Err(e) => return Err(format!("{key}: {e}")),
            }
            Ok(())
        },
    )
    .await
    .unwrap_or_else(|e| panic!("batch: {e}"));
    assert_eq!(stored.len() + refused.len(), references.len());
    assert!(
        !stored.is_empty() && !refused.is_empty(),
        "{stored:?} {refused:?}"
    );
    for key in &stored {
        let list = app
            .get(&format!("/api/v1/agreements/{key}/documents"))
            .await;
        assert_eq!(
            list.body["items"].as_array().map(Vec::len),
            Some(1),
            "{key}"
        );
    }
}

crate::on_both_backends!(
    a_batch_stores_every_complete_agreement_and_refuses_the_rest,
    every_template_renders_every_sample_it_applies_to,
    the_same_agreement_rendered_twice_has_the_same_sha256,
    a_draft_iop_without_required_fields_is_refused_with_every_missing_field,
    a_template_that_does_not_apply_or_does_not_exist_is_refused,
);

#[tokio::test]
async fn a_bogus_typst_path_gives_503_and_the_rest_of_the_api_still_answers() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut settings = test_settings(Backend::Sqlite, dir.path()).await;
    settings.typst = Some(PathBuf::from("/nonexistent/bin/typst"));
    let app = spawn_with(Backend::Sqlite, settings, dir).await;
    app.load_examples().await;
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0001/documents",
            &json!({"template": "iop"}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("typst") && message.contains("scripts/setup.sh"),
        "{message}"
    );
    assert_eq!(app.get("/health").await.status, 200);
    assert_eq!(app.agreement("AGR-2025-0001").await.status, 200);
    assert_eq!(app.get("/api/v1/templates").await.status, 200);
    let list = app.get("/api/v1/agreements/AGR-2025-0001/documents").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"], json!([]));
}

// ---------- hostile strings ----------

/// Strings that would be code, markup or math if pasted into typst.
const HOSTILE: &[&str] = &[
    "#eval(\"1+1\")",
    "#read(\"/etc/passwd\")",
    "#import \"@preview/x:0.1.0\"",
    "#set page(width: 1cm)",
    "$x^2$ och $",
    "*fet* _kursiv_",
    "\\ \\\\ \\n",
    "[hakparentes] ]",
    "<etikett> @referens",
    "\"citat\" 'enkel'",
    "// kommentar",
    "/* block",
    "= Rubrik",
    "- punkt",
    "+ numrerad",
    "`rå` ```kod```",
    "~ -- --- ...",
    "{ } ( ) ;",
    "rad ett\nrad två",
    "emoji 😀 ✓ ☺",
];

/// A string of markup characters, never blank: a blank text counts as a missing required field,
/// which the renderer refuses before typst runs.
fn hostile_string() -> impl Strategy<Value = String> {
    "[#$*_\\\\\\[\\]<>@\"'/=+\\-`~^{}()%&|;:,.!?a-zåäöÅÄÖ0-9 😀✓☺\n]{1,24}"
        .prop_filter("not blank", |s: &String| !s.trim().is_empty())
}

fn sample(reference: &str) -> (Agreement, Directory) {
    let files = avtal::demo::example_files().unwrap_or_else(|e| panic!("{e:?}"));
    let mut dir = Directory::default();
    let mut found = None;
    for (_, f) in files {
        for o in f.organisations {
            dir.organisations.insert(o.org_number.clone(), o);
        }
        for c in f.contacts {
            dir.contacts.insert(c.email.clone(), c);
        }
        for a in f.agreements {
            if a.reference.as_str() == reference {
                found = Some(a);
            }
        }
    }
    (
        found.unwrap_or_else(|| panic!("no sample {reference}")),
        dir,
    )
}

/// The fields [`render_hostile`] puts its strings in, one string each and in this order; the
/// strings after these become one goal each.
const HOSTILE_FIELDS: &[&str] = &[
    "title",
    "partner name",
    "background",
    "value base",
    "partner value base",
    "purpose",
    "target group",
    "governance",
];

/// Renders `strings` into an IOP, each in a field of its own (see [`HOSTILE_FIELDS`]), so a field
/// that treats its text as markup loses its string; returns the PDF text (whitespace removed).
fn render_hostile(renderer: &Renderer, strings: &[String]) -> Result<String, String> {
    let (mut a, mut dir) = sample("AGR-2025-0001");
    let mut next = strings.iter().cloned();
    a.title = next.next().unwrap_or_default();
    let partner_name = next.next().unwrap_or_default();
    if let Some(partner) = a.parties.iter().find(|p| p.role.code() == "iop_partner")
        && let Some(o) = dir.organisations.get_mut(&partner.org)
    {
        o.name = partner_name;
    }
    let Some(iop) = a.iop.as_mut() else {
        return Err("AGR-2025-0001 is an IOP".into());
    };
    // A field without a string of its own keeps the sample's text.
    for field in [
        &mut iop.background,
        &mut iop.value_base,
        &mut iop.partner_value_base,
        &mut iop.purpose,
        &mut iop.target_group,
        &mut iop.governance,
    ] {
        if let Some(s) = next.next() {
            *field = Some(s);
        }
    }
    let goals: Vec<_> = next
        .map(|text| avtal::domain::agreement::Goal {
            text,
            indicator: None,
        })
        .collect();
    if !goals.is_empty() {
        iop.goals = goals;
    }
    let req = DocumentRequest {
        template: "iop".into(),
        ..DocumentRequest::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (view, _) = renderer
        .view(&req, &a, 1, &dir, sample_today())
        .map_err(|e| e.to_string())?;
    let pdf = runtime
        .block_on(renderer.render_view(&view, 0))
        .map_err(|e| e.to_string())?;
    Ok(body_text(&pdf, RUNNING_0001))
}

fn test_renderer() -> Renderer {
    let settings = avtal::config::Settings {
        typst: std::env::var_os("AVTAL_TYPST").map(PathBuf::from),
        ..avtal::config::Settings::default()
    };
    Renderer::from_settings(&settings)
}

#[test]
fn known_hostile_strings_print_literally() {
    if !typst_available() {
        return;
    }
    let renderer = test_renderer();
    // How often each field is printed, from plain markers in the same places.
    let markers: Vec<String> = (0..HOSTILE.len()).map(|i| format!("Q{i:02}Q")).collect();
    let plain = render_hostile(&renderer, &markers).unwrap_or_else(|e| panic!("{e}"));
    let strings: Vec<String> = HOSTILE.iter().map(|s| (*s).to_owned()).collect();
    let text = render_hostile(&renderer, &strings).unwrap_or_else(|e| panic!("{e}"));
    for (i, (s, marker)) in strings.iter().zip(&markers).enumerate() {
        let field = HOSTILE_FIELDS.get(i).copied().unwrap_or("a goal");
        let prints = plain.matches(marker.as_str()).count();
        assert!(prints > 0, "{field} is not printed at all");
        assert_eq!(
            text.matches(&squeeze(s)).count(),
            prints,
            "{s:?} in {field} is printed as often as plain text there"
        );
    }
}

#[test]
fn text_the_fonts_cannot_show_is_refused_not_corrupted() {
    if !typst_available() {
        return;
    }
    let strings = vec!["krabba 🦀".to_owned(), "namn".to_owned()];
    let err = render_hostile(&test_renderer(), &strings)
        .err()
        .unwrap_or_default();
    assert!(err.contains("cannot show"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_hostile_strings_print_literally(strings in proptest::collection::vec(hostile_string(), 200)) {
        if typst_available() {
            let text = render_hostile(&test_renderer(), &strings);
            prop_assert!(text.is_ok(), "render failed: {:?}", text.err());
            let text = text.unwrap_or_default();
            for s in &strings {
                let needle = squeeze(s);
                prop_assert!(text.contains(&needle), "{:?} is not in the PDF text", s);
            }
        }
    }
}

/// Renders AGR-2025-0004 (a contract) with `strings[0..18]` each in its own field of the terms,
/// the parties' units and the parties' addresses, and AGR-2025-0001 (an IOP) with `strings[18..]`
/// in its state-aid reasoning and decision; returns both PDF texts (whitespace removed).
fn render_hostile_terms(renderer: &Renderer, strings: &[String]) -> Result<String, String> {
    use avtal::domain::party::PostalAddress;
    use avtal::domain::terms::{PersonalData, StateAid, StateAidBasis, Subcontractor};
    let s = |i: usize| strings.get(i).cloned().unwrap_or_default();
    let (mut a, mut dir) = sample("AGR-2025-0004");
    let t = &mut a.terms;
    if let Some(p) = t.price.as_mut() {
        p.model = s(0);
        if let Some(adj) = p.adjustment.as_mut() {
            adj.index = s(1);
        }
    }
    if let Some(i) = t.invoicing.as_mut() {
        i.reference = Some(s(2));
        i.peppol_id = Some(s(3));
    }
    if let Some(i) = t.insurance.as_mut() {
        i.text = Some(s(4));
    }
    t.labour_law_conditions = true;
    t.collective_agreement = Some(s(5));
    t.subcontractors = vec![Subcontractor {
        org: a.parties[1].org.clone(),
        name: s(6),
        part: s(7),
    }];
    if let Some(p) = t.penalty.as_mut() {
        p.per = s(8);
    }
    t.special_terms = Some(s(9));
    t.personal_data = PersonalData::Processor;
    for (k, p) in a.parties.iter_mut().enumerate() {
        p.unit = Some(s(10 + k));
        if let Some(o) = dir.organisations.get_mut(&p.org) {
            o.address = Some(PostalAddress {
                street: s(12 + 2 * k),
                city: s(13 + 2 * k),
                postal_code: s(16 + k),
            });
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let render = |a: &Agreement, dir: &Directory, template: &str| -> Result<Vec<u8>, String> {
        let req = DocumentRequest {
            template: template.into(),
            ..DocumentRequest::default()
        };
        let (view, _) = renderer
            .view(&req, a, 1, dir, sample_today())
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(renderer.render_view(&view, 0))
            .map_err(|e| e.to_string())
    };
    let contract = render(&a, &dir, "procurement")?;
    let (mut iop, iop_dir) = sample("AGR-2025-0001");
    iop.terms.state_aid = Some(StateAid {
        basis: StateAidBasis::Sgei,
        reasoning: s(18),
        decision: Some(s(19)),
    });
    let partnership = render(&iop, &iop_dir, "iop")?;
    let running_0004 = [
        "Dnr HAN 2024/0312 (sample)",
        "·",
        "Avtal AGR-2025-0004",
        "Kontrakt",
        "AGR-2025-0004, version 1",
    ];
    Ok(body_text(&contract, &running_0004) + &body_text(&partnership, RUNNING_0001))
}

#[test]
fn hostile_strings_in_the_new_fields_print_literally_each_in_its_own_field() {
    if !typst_available() {
        return;
    }
    let strings: Vec<String> = HOSTILE.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(strings.len(), 20, "one hostile string per field");
    let text = render_hostile_terms(&test_renderer(), &strings).unwrap_or_else(|e| panic!("{e}"));
    for (i, s) in strings.iter().enumerate() {
        let n = text.matches(&squeeze(s)).count();
        assert!(
            n >= 1,
            "hostile string {i} ({s:?}) is in the PDF text {n} times"
        );
    }
}
