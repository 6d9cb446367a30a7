//! Contract documents: every template renders every sample agreement it applies to into a PDF/A
//! whose text holds the parties, dates, amounts and reports; the same agreement gives the same
//! bytes; missing fields give 422; a missing typst gives 503 while the rest answers; and hostile
//! strings come out literally. The signed copy of a document: stored with its SHA-256, audited,
//! dating the agreement, shown escaped on the page, refused naming the field.

#![expect(clippy::unwrap_used, reason = "a test reports a failure by panicking")]

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

// ---------- the signed copy on record ----------

/// A generated document stored straight in storage (no typst needed): its id.
async fn stored_document(
    app: &TestApp,
    reference: &str,
    template: &str,
    event: Option<&str>,
) -> i64 {
    let key = avtal::domain::agreement::Reference::parse(reference).unwrap();
    let stored = avtal::db::store::get_agreement(&app.registry.db, &key)
        .await
        .unwrap();
    let clauses = vec!["parties@1.0.0".to_owned(), "scope@1.1.0".to_owned()];
    avtal::db::documents::insert_document(
        &app.registry.db,
        &avtal::db::documents::NewDocument {
            agreement_id: stored.id,
            agreement_reference: reference,
            agreement_version: stored.version,
            template,
            template_version: "2.0.0",
            event,
            file_name: &format!("{reference}-{template}.pdf"),
            sha256: &sha256_hex(b"%PDF-1.7 generated"),
            content: b"%PDF-1.7 generated",
            created_by: "test",
            clauses: &clauses,
        },
    )
    .await
    .unwrap()
    .id
}

/// A `multipart/form-data` body: (content type, bytes).
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "XsignedX";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn send(
    client: &reqwest::Client,
    url: String,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let r = client
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

const SIGNED_PDF: &[u8] = b"%PDF-1.4\n% inskannat och undertecknat\n%%EOF\n";

async fn a_signed_copy_is_stored_with_its_sha256_audited_and_dates_the_agreement(app: TestApp) {
    app.load_examples().await;
    let doc = stored_document(&app, "AGR-2025-0004", "procurement", None).await;
    let officer = app.client_for(avtal::domain::access::Role::Officer).await;
    let today = sample_today().to_string();
    let (ct, body) = multipart(
        &[
            ("signed_on", today.as_str()),
            ("signatories[0].name", "Sara Nyström"),
            ("signatories[0].role", "upphandlingschef"),
            ("signatories[0].party", "212900-0028"),
            ("signatories[1].name", "Fatima Ali"),
            ("signatories[1].role", "verksamhetschef"),
            ("signatories[2].name", ""),
        ],
        Some(("kontrakt-signerat.pdf", SIGNED_PDF)),
    );
    let url = format!(
        "{}/api/v1/agreements/AGR-2025-0004/documents/{doc}/signed",
        app.address
    );
    let (status, text) = send(&officer, url.clone(), &ct, body).await;
    assert_eq!(status, 201, "{text}");
    let copy: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(copy["sha256"], json!(sha256_hex(SIGNED_PDF)));
    assert_eq!(copy["document_id"], json!(doc));
    assert_eq!(copy["signed_on"], json!(today));
    assert_eq!(copy["signatories"][1]["name"], json!("Fatima Ali"));
    assert_eq!(copy["signatories"].as_array().map(Vec::len), Some(2));
    assert_eq!(copy["original_name"], json!("kontrakt-signerat.pdf"));
    let download = copy["download"].as_str().unwrap().to_owned();
    assert_eq!(
        download,
        format!("/api/v1/agreements/AGR-2025-0004/documents/{doc}/signed")
    );

    // The agreement: its signing date comes from the upload, and it says which document was signed.
    let a = app.agreement("AGR-2025-0004").await;
    assert_eq!(a.body["agreement"]["signed_on"], json!(today), "{}", a.body);
    assert_eq!(a.body["signed"][0]["document_id"], json!(doc));
    assert_eq!(
        a.body["signed"][0]["signatories"][0]["role"],
        json!("upphandlingschef")
    );
    // The documents list: the clause versions of each document and its signed copy.
    let list = app.get("/api/v1/agreements/AGR-2025-0004/documents").await;
    let item = &list.body["items"][0];
    assert_eq!(item["clauses"], json!(["parties@1.0.0", "scope@1.1.0"]));
    assert_eq!(item["template_version"], json!("2.0.0"));
    assert_eq!(item["download"], json!(format!("/api/v1/documents/{doc}")));
    assert_eq!(item["signed"]["sha256"], json!(sha256_hex(SIGNED_PDF)));
    assert!(list.body["templates"].is_array(), "{}", list.body);

    // The file, for whoever reads the agreement: the enterprise of its supplier too.
    let supplier = app
        .client_for(avtal::domain::access::Role::Enterprise)
        .await;
    for client in [&app.client, &supplier] {
        let r = client
            .get(format!("{}{download}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert_eq!(r.bytes().await.unwrap().as_ref(), SIGNED_PDF);
    }
    // An enterprise user may not upload, and sees nothing of another organisation's agreement.
    let (ct2, body2) = multipart(&[("signatories[0].name", "X")], Some(("x.pdf", SIGNED_PDF)));
    let (status, _) = send(&supplier, url.clone(), &ct2, body2).await;
    assert_eq!(status, 403);
    let other = stored_document(&app, "AGR-2025-0001", "iop", None).await;
    let (ct3, body3) = multipart(
        &[("signatories[0].name", "Ann Berg")],
        Some(("x.pdf", SIGNED_PDF)),
    );
    let (status, text) = send(
        &app.client,
        format!(
            "{}/api/v1/agreements/AGR-2025-0001/documents/{other}/signed",
            app.address
        ),
        &ct3,
        body3,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    for path in [
        format!("/api/v1/agreements/AGR-2025-0001/documents/{other}/signed"),
        format!("/agreements/AGR-2025-0001/documents/{other}/signed"),
        format!("/api/v1/agreements/AGR-2025-0004/documents/{other}/signed"),
    ] {
        let r = supplier
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
    }

    // Audited in the same transaction: who, when, the hash and which document version.
    let log = app
        .get("/api/v1/audit?agreement=AGR-2025-0004&action=signed_copy.create")
        .await;
    let entry = &log.body["items"][0];
    assert_eq!(log.body["total"], json!(1), "{}", log.body);
    assert!(
        entry["actor"].as_str().unwrap().starts_with("user:"),
        "{entry}"
    );
    assert_eq!(entry["after"]["sha256"], json!(sha256_hex(SIGNED_PDF)));
    assert_eq!(entry["after"]["document"], json!(doc));
    assert_eq!(entry["after"]["template_version"], json!("2.0.0"));
    assert!(entry["after"]["agreement_version"].is_number(), "{entry}");
    let dated = app
        .get("/api/v1/audit?agreement=AGR-2025-0004&action=agreement.record_signature")
        .await;
    assert_eq!(dated.body["total"], json!(1), "{}", dated.body);

    // One signed copy per document.
    let (ct4, body4) = multipart(
        &[("signatories[0].name", "Ny")],
        Some(("y.pdf", SIGNED_PDF)),
    );
    let (status, text) = send(&officer, url, &ct4, body4).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("one_signed_copy"), "{text}");

    // `avtal check` reads the signed copies too, and names a damaged one.
    let report = avtal::registry::backup::check(&app.registry).await.unwrap();
    assert_eq!(report.signed_copies, 2);
    assert!(report.ok(), "{report}");
    use sea_orm::ConnectionTrait;
    app.registry
        .db
        .execute_unprepared(&format!(
            "UPDATE signed_copy SET size_bytes = size_bytes + 1 WHERE document_id = {doc}"
        ))
        .await
        .unwrap();
    let report = avtal::registry::backup::check(&app.registry).await.unwrap();
    assert!(!report.ok());
    assert_eq!(report.damaged.len(), 1, "{report}");
    assert!(report.damaged[0].starts_with("signed copy "), "{report}");
}

/// Form fields, the file (none: no file field), and the field and rule of the refusal.
type RefusalCase<'a> = (Vec<(&'a str, &'a str)>, Option<&'a [u8]>, &'a str, &'a str);

async fn a_bad_signed_copy_is_refused_naming_the_field_and_nothing_is_written(app: TestApp) {
    app.load_examples().await;
    let doc = stored_document(&app, "AGR-2025-0004", "procurement", None).await;
    let letter = stored_document(&app, "AGR-2025-0004", "amendment", Some("amendment:0")).await;
    let other = stored_document(&app, "AGR-2025-0001", "iop", None).await;
    let before = app.agreement("AGR-2025-0004").await;
    let audit_before = app.get("/api/v1/audit?limit=1").await.body["total"].clone();
    let today = sample_today();
    let tomorrow = (today + chrono::Days::new(1)).to_string();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    let person = ("signatories[0].name", "Sara Nyström");
    let cases: Vec<RefusalCase> = vec![
        (
            vec![person],
            Some(&b"PK\x03\x04 not a pdf"[..]),
            "file",
            "pdf",
        ),
        (vec![person], Some(&b""[..]), "file", "required"),
        (vec![person], None, "file", "required"),
        (
            vec![person, ("signed_on", tomorrow.as_str())],
            Some(SIGNED_PDF),
            "signed_on",
            "not_in_future",
        ),
        (
            vec![person, ("signed_on", yesterday.as_str())],
            Some(SIGNED_PDF),
            "signed_on",
            "not_before_document",
        ),
        (
            vec![person, ("signed_on", "igår")],
            Some(SIGNED_PDF),
            "signed_on",
            "date",
        ),
        (vec![], Some(SIGNED_PDF), "signatories", "required"),
        (
            vec![("signatories[0].role", "VD")],
            Some(SIGNED_PDF),
            "signatories[0].name",
            "required",
        ),
        (
            vec![person, ("signatories[0].party", "212900-0069")],
            Some(SIGNED_PDF),
            "signatories[0].party",
            "party_of_agreement",
        ),
        (
            vec![("signatories[0].name", "Rad\nbrytning")],
            Some(SIGNED_PDF),
            "signatories[0].name",
            "plain_text",
        ),
        (
            vec![person, ("colour", "red")],
            Some(SIGNED_PDF),
            "colour",
            "unknown_field",
        ),
    ];
    let url = format!(
        "{}/api/v1/agreements/AGR-2025-0004/documents/{doc}/signed",
        app.address
    );
    for (fields, file, field, rule) in cases {
        let (ct, body) = multipart(&fields, file.map(|f| ("f.pdf", f)));
        let (status, text) = send(&app.client, url.clone(), &ct, body).await;
        assert_eq!(status, 422, "{fields:?}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let errors = v["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == json!(field) && e["rule"] == json!(rule)),
            "{fields:?}: expected {field} {rule}, got {text}"
        );
    }
    // A raw body that is not a PDF; a document of another agreement; no such document.
    let (status, text) = send(
        &app.client,
        format!("{url}?signatories[0].name=Sara"),
        "text/plain",
        b"hej".to_vec(),
    )
    .await;
    assert!(status == 422 && text.contains("\"pdf\""), "{status} {text}");
    for path in [
        format!("/api/v1/agreements/AGR-2025-0004/documents/{other}/signed"),
        "/api/v1/agreements/AGR-2025-0004/documents/999999/signed".to_owned(),
        "/api/v1/agreements/AGR-2025-0004/documents/abc/signed".to_owned(),
    ] {
        let (status, text) = send(
            &app.client,
            format!("{}{path}?signatories[0].name=Sara", app.address),
            "application/pdf",
            SIGNED_PDF.to_vec(),
        )
        .await;
        assert_eq!(status, 404, "{path}: {text}");
    }
    // Nothing was written.
    let after = app.agreement("AGR-2025-0004").await;
    assert_eq!(after.body["version"], before.body["version"]);
    assert_eq!(after.body["signed"], json!([]));
    assert_eq!(
        app.get("/api/v1/audit?limit=1").await.body["total"],
        audit_before
    );

    // The raw PDF with its fields in the query string; a letter's signed copy leaves the
    // agreement's signing date alone.
    let (status, text) = send(
        &app.client,
        format!(
            "{}/api/v1/agreements/AGR-2025-0004/documents/{letter}/signed?signatories%5B0%5D.name=Sara%20Nystr%C3%B6m",
            app.address
        ),
        "application/pdf",
        SIGNED_PDF.to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let after = app.agreement("AGR-2025-0004").await;
    assert_eq!(after.body["version"], before.body["version"]);
    assert_eq!(
        after.body["agreement"]["signed_on"],
        before.body["agreement"]["signed_on"]
    );
    assert_eq!(after.body["signed"][0]["document_id"], json!(letter));
}

async fn the_agreement_page_shows_the_signed_copy_escaped_and_what_each_template_lacks(
    app: TestApp,
) {
    app.load_examples().await;
    let doc = stored_document(&app, "AGR-2025-0004", "procurement", None).await;
    let officer = app.client_for(avtal::domain::access::Role::Officer).await;
    let page_url = format!("{}/agreements/AGR-2025-0004", app.address);
    let page = officer
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "action=\"/agreements/AGR-2025-0004/documents/{doc}/signed\""
        )),
        "the upload form of the unsigned document"
    );
    let hostile = "<script>alert(1)</script> & \"Söder\"";
    let upload = |fields: Vec<(&'static str, String)>, file: &'static [u8]| {
        let (officer, url) = (
            officer.clone(),
            format!("{page_url}/documents/{doc}/signed"),
        );
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (ct, body) = multipart(&pairs, Some(("s.pdf", file)));
            let r = officer
                .post(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (
                r.status().as_u16(),
                location,
                r.text().await.unwrap_or_default(),
            )
        }
    };
    // Refused on the page in Swedish; nothing stored.
    let (status, _, refused) = upload(
        vec![("signatories[0].name", "Sara".into())],
        &b"not a pdf"[..],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.contains("Filen är inte en PDF"), "{refused}");
    let (status, location, _) = upload(
        vec![
            ("signed_on", sample_today().to_string()),
            ("signatories[0].name", hostile.into()),
            ("signatories[0].role", "<i>kommundirektör</i>".into()),
        ],
        SIGNED_PDF,
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/agreements/AGR-2025-0004?ok=signed#doc-{doc}").as_str())
    );
    let page = officer
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;"),
        "escaped signatory"
    );
    assert!(page.contains("&amp;") && page.contains("&lt;i&gt;kommundirektör"));
    assert!(!page.contains("<script>alert") && !page.contains("<i>kommun"));
    assert!(page.contains(&format!(
        "href=\"/agreements/AGR-2025-0004/documents/{doc}/signed\""
    )));
    assert!(page.contains(&sha256_hex(SIGNED_PDF)));
    assert!(
        page.contains("parties@1.0.0"),
        "the clause versions of the document"
    );
    assert!(!page.contains(&format!(
        "action=\"/agreements/AGR-2025-0004/documents/{doc}/signed\""
    )));

    // Before anyone presses a button: each template lists what the agreement lacks for it.
    let draft = app
        .client
        .get(format!("{}/agreements/AGR-2027-0012", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let missing = draft
        .split("id=\"missing-iop\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_else(|| panic!("no missing list beside the iop button: {draft}"));
    assert!(
        missing.contains("Saknas") && missing.contains("(diarienummer)"),
        "{missing}"
    );
    assert!(
        draft.contains("name=\"template\" value=\"iop\" disabled"),
        "{draft}"
    );
    let api = app.get("/api/v1/agreements/AGR-2027-0012/documents").await;
    let iop = api.body["templates"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == json!("iop")).cloned())
        .unwrap();
    assert!(
        iop["missing"]
            .as_array()
            .is_some_and(|m| m.iter().any(|f| f["field"] == json!("diarienummer"))),
        "{iop}"
    );
}

async fn a_document_sent_for_signature_is_recorded_audited_shown_and_refused_once_signed(
    app: TestApp,
) {
    app.load_examples().await;
    let doc = stored_document(&app, "AGR-2025-0004", "procurement", None).await;
    let other = stored_document(&app, "AGR-2025-0001", "iop", None).await;
    let officer = app.client_for(avtal::domain::access::Role::Officer).await;
    let today = sample_today();
    let path = format!("/api/v1/agreements/AGR-2025-0004/documents/{doc}/sent");
    let post = |client: &reqwest::Client, path: String, body: serde_json::Value| {
        let r = client
            .post(format!("{}{path}", app.address))
            .json(&body)
            .send();
        async move {
            let r = r.await.unwrap();
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    async fn audit_total(app: &TestApp, action: &str) -> serde_json::Value {
        let path = format!("/api/v1/audit?agreement=AGR-2025-0004&action={action}");
        app.get(&path).await.body["total"].clone()
    }
    assert_eq!(
        audit_total(&app, "signature_request.create").await,
        json!(0)
    );

    // Refused, naming field and rule, and nothing is written.
    let tomorrow = (today + chrono::Days::new(1)).to_string();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    let cases = [
        (
            json!({"method": "email", "sent_to": "a@b.example", "sent_on": tomorrow}),
            "sent_on",
            "not_in_future",
        ),
        (
            json!({"method": "email", "sent_to": "a@b.example", "sent_on": yesterday}),
            "sent_on",
            "not_before_document",
        ),
        (
            json!({"method": "email", "sent_to": "  "}),
            "sent_to",
            "required",
        ),
        (
            json!({"method": "email", "sent_to": "a\nb"}),
            "sent_to",
            "plain_text",
        ),
        (
            json!({"method": "email", "sent_to": "x".repeat(501)}),
            "sent_to",
            "max_length",
        ),
        (
            json!({"method": "duva", "sent_to": "a"}),
            "method",
            "unknown_code",
        ),
        (json!({"sent_to": "a"}), "method", "required"),
        (
            json!({"method": "post", "sent_to": "a", "colour": "red"}),
            "colour",
            "unknown_field",
        ),
    ];
    for (body, field, rule) in cases {
        let (status, reply) = post(&officer, path.clone(), body.clone()).await;
        assert_eq!(status, 422, "{body}: {reply}");
        let errors = reply["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == json!(field) || e["message"].to_string().contains(field)),
            "{body}: expected {field} ({rule}), got {reply}"
        );
    }
    // Another agreement's document, no such document, a role that may not, an enterprise user.
    let (status, _) = post(
        &officer,
        format!("/api/v1/agreements/AGR-2025-0004/documents/{other}/sent"),
        json!({"method": "post", "sent_to": "a"}),
    )
    .await;
    assert_eq!(status, 404);
    let auditor = app.client_for(avtal::domain::access::Role::Auditor).await;
    let (status, _) = post(
        &auditor,
        path.clone(),
        json!({"method": "post", "sent_to": "a"}),
    )
    .await;
    assert_eq!(status, 403);
    let supplier = app
        .client_for(avtal::domain::access::Role::Enterprise)
        .await;
    let (status, _) = post(
        &supplier,
        path.clone(),
        json!({"method": "post", "sent_to": "a"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        audit_total(&app, "signature_request.create").await,
        json!(0)
    );

    // Recorded: who, when, how, to whom.
    let (status, sent) = post(
        &officer,
        path.clone(),
        json!({"method": "e_signature", "sent_to": "Sara Nyström, sara@haninge.example; Fatima Ali"}),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["document_id"], json!(doc));
    assert_eq!(sent["sent_on"], json!(today.to_string()));
    assert_eq!(sent["method"], json!("e_signature"));
    assert!(
        sent["sent_by"].as_str().unwrap().starts_with("user:"),
        "{sent}"
    );
    // The documents list says where each document stands; the agreement lists its sendings.
    let list = app.get("/api/v1/agreements/AGR-2025-0004/documents").await;
    let item = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(doc))
        .cloned()
        .unwrap();
    assert_eq!(item["state"], json!("sent"), "{item}");
    assert_eq!(item["sent"][0]["sent_to"], sent["sent_to"]);
    assert_eq!(item["signed"], json!(null));
    let a = app.agreement("AGR-2025-0004").await;
    assert_eq!(a.body["sent_for_signature"][0]["document_id"], json!(doc));
    let a = app.agreement("AGR-2025-0001").await;
    assert_eq!(a.body["sent_for_signature"], json!([]));
    // Audited in the same transaction, with the document's version and hash.
    assert_eq!(
        audit_total(&app, "signature_request.create").await,
        json!(1)
    );
    let log = app
        .get("/api/v1/audit?agreement=AGR-2025-0004&action=signature_request.create")
        .await;
    let entry = &log.body["items"][0];
    assert_eq!(entry["after"]["document"], json!(doc));
    assert_eq!(entry["after"]["method"], json!("e_signature"));
    assert_eq!(entry["after"]["template_version"], json!("2.0.0"));
    assert!(
        entry["actor"].as_str().unwrap().starts_with("user:"),
        "{entry}"
    );
    // The agreement page shows it, in Swedish, and the page's own form records another sending.
    let page = officer
        .get(format!("{}/agreements/AGR-2025-0004", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Skickat för underskrift"), "{page}");
    assert!(page.contains("e-signeringstjänst"), "{page}");
    assert!(page.contains(&format!(
        "action=\"/agreements/AGR-2025-0004/documents/{doc}/sent\""
    )));
    let r = officer
        .post(format!(
            "{}/agreements/AGR-2025-0004/documents/{doc}/sent",
            app.address
        ))
        .form(&[
            ("sent_on", ""),
            ("method", "post"),
            ("sent_to", "Fatima Ali, Storgatan 1, Haninge"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let list = app.get("/api/v1/agreements/AGR-2025-0004/documents").await;
    let item = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(doc))
        .cloned()
        .unwrap();
    assert_eq!(item["sent"].as_array().map(Vec::len), Some(2), "{item}");
    assert_eq!(item["sent"][0]["method"], json!("post"), "newest first");
    let r = officer
        .post(format!(
            "{}/agreements/AGR-2025-0004/documents/{doc}/sent",
            app.address
        ))
        .form(&[("sent_on", "igår"), ("method", "post"), ("sent_to", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("ÅÅÅÅ-MM-DD"));

    // Signed: the document is not sent for signature again, on the API or the page.
    let (ct, body) = multipart(
        &[("signatories[0].name", "Sara Nyström")],
        Some(("signerat.pdf", SIGNED_PDF)),
    );
    let (status, text) = send(
        &officer,
        format!(
            "{}/api/v1/agreements/AGR-2025-0004/documents/{doc}/signed",
            app.address
        ),
        &ct,
        body,
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (status, reply) = post(
        &officer,
        path.clone(),
        json!({"method": "post", "sent_to": "a"}),
    )
    .await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["rule"], json!("already_signed"), "{reply}");
    let r = officer
        .post(format!(
            "{}/agreements/AGR-2025-0004/documents/{doc}/sent",
            app.address
        ))
        .form(&[("method", "post"), ("sent_to", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("redan undertecknat"));
    let list = app.get("/api/v1/agreements/AGR-2025-0004/documents").await;
    let item = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(doc))
        .cloned()
        .unwrap();
    assert_eq!(item["state"], json!("signed"));
    assert_eq!(item["sent"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        audit_total(&app, "signature_request.create").await,
        json!(2)
    );
}

crate::on_both_backends!(
    a_document_sent_for_signature_is_recorded_audited_shown_and_refused_once_signed,
    a_signed_copy_is_stored_with_its_sha256_audited_and_dates_the_agreement,
    a_bad_signed_copy_is_refused_naming_the_field_and_nothing_is_written,
    the_agreement_page_shows_the_signed_copy_escaped_and_what_each_template_lacks,
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
            targets: Vec::new(),
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
