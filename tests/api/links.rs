//! Reports moved by people: submit, accept and reject through the API; signed links from a real
//! reminder e-mail that acknowledge and take the report; every bad link or file refused with its
//! page; calendar feeds per contact that stop after revocation.

use avtal::domain::agreement::Reference;
use avtal::links::report_links;
use avtal::links::token::{LinkClaims, Purpose};
use avtal::notify::mailer::Mailer;
use avtal::notify::{Composer, plan, run_once};
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp, sample_today, spawn_with, test_settings};

const REF: &str = "AGR-2025-0005";
const KIND: &str = "social_clause_report";
const Q3: &str = "2026-09-30";

fn d(s: &str) -> NaiveDate {
    avtal::domain::dates::parse_iso_date(s).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A small PDF: the magic bytes are what counts.
pub(crate) fn small_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// The figures the Q3 report carries (the sample's employment requirement), as the CSV template.
pub(crate) const Q3_CSV: &str = "indikator;kvinnor;män;annat;totalt\nreq_employed;0;1;0;1\nreq_placements;1;0;0;1\nreq_months;2;3;0;5\n";

fn q3_figures() -> Value {
    let f = |ind: &str, w: u32, m: u32| json!({"indicator": ind, "total": w + m, "women": w, "men": m, "other": 0});
    json!([
        f("req_employed", 0, 1),
        f("req_placements", 1, 0),
        f("req_months", 2, 3)
    ])
}

/// Posts an action; a hand-in of the sample's report carries its figures unless given.
async fn act(app: &TestApp, action: &str, mut body: Value) -> crate::helpers::Reply {
    if action == "submit-report" && body["report"] == KIND && body.get("figures").is_none() {
        body["figures"] = q3_figures();
    }
    app.post(&format!("/api/v1/agreements/{REF}/{action}"), &body)
        .await
}

fn occurrence<'a>(agreement: &'a Value, period_end: &str) -> &'a Value {
    agreement["reporting"][0]["occurrences"]
        .as_array()
        .and_then(|v| v.iter().find(|o| o["period_end"] == period_end))
        .unwrap_or_else(|| panic!("no record for {period_end} in {agreement}"))
}

fn derived_report<'a>(body: &'a Value, period_end: &str) -> &'a Value {
    body["derived"]["deadlines"]
        .as_array()
        .and_then(|v| {
            v.iter()
                .find(|x| x["kind"] == "report" && x["report"]["period_end"] == period_end)
        })
        .unwrap_or_else(|| panic!("no report deadline for {period_end}"))
}

/// The dedupe keys of the reminders a sweep today would queue for the Q3 report.
async fn q3_reminders(app: &TestApp, today: NaiveDate) -> Vec<String> {
    let p = plan(&app.registry.db, today, &app.registry.settings.reminders)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    p.reminders
        .into_iter()
        .map(|r| r.key.to_string())
        .filter(|k| k.starts_with(&format!("{REF}/report/{KIND}:{Q3}@")))
        .collect()
}

async fn report_states_move_by_submit_accept_and_reject_through_the_api(app: TestApp) {
    app.load_examples().await;
    let submit = json!({"report": KIND, "period_end": Q3});

    let r = act(&app, "submit-report", submit.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = occurrence(&r.body["agreement"], Q3);
    assert_eq!(rec["state"], "submitted");
    assert_eq!(rec["submitted_on"], "2026-11-22");
    let x = derived_report(&r.body, Q3);
    assert_eq!(x["state"], "met");
    assert_eq!(x["reminders"], json!([]), "a met deadline has no reminders");

    let r = act(
        &app,
        "reject-report",
        json!({"report": KIND, "period_end": Q3, "reason": "Andelen anställda saknas"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = occurrence(&r.body["agreement"], Q3);
    assert_eq!(rec["state"], "rejected");
    assert_eq!(rec["rejection_reason"], "Andelen anställda saknas");
    let x = derived_report(&r.body, Q3);
    assert_eq!(x["state"], "open", "a rejected report is due again");
    assert_eq!(
        x["report"]["state"], "escalated",
        "under the same dates, which have passed"
    );
    assert_eq!(x["date"], "2026-10-20", "the due date did not move");
    assert!(!q3_reminders(&app, sample_today()).await.is_empty());

    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": Q3, "submitted_on": "2026-11-20"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = act(
        &app,
        "accept-report",
        json!({"report": KIND, "period_end": Q3, "decided_on": "2026-11-21"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = occurrence(&r.body["agreement"], Q3);
    assert_eq!(rec["state"], "accepted");
    assert_eq!(rec["submitted_on"], "2026-11-20");
    assert_eq!(rec["decided_on"], "2026-11-21");
    assert_eq!(derived_report(&r.body, Q3)["state"], "met");

    let audit = app
        .get(&format!("/api/v1/audit?agreement={REF}&limit=10"))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        &actions[..4],
        [
            "agreement.accept_report",
            "agreement.submit_report",
            "agreement.reject_report",
            "agreement.submit_report"
        ],
        "{}",
        audit.body
    );
}

async fn illegal_report_moves_are_refused_listing_the_allowed_ones_and_change_nothing(
    app: TestApp,
) {
    app.load_examples().await;
    let before = app.agreement(REF).await.body;
    let cases = [
        (
            "accept-report",
            json!({"report": KIND, "period_end": Q3}),
            422,
            "report_state_transition",
            "allowed: submit-report, acknowledge-report",
        ),
        (
            "reject-report",
            json!({"report": KIND, "period_end": Q3, "reason": "x"}),
            422,
            "report_state_transition",
            "it is escalated",
        ),
        (
            "submit-report",
            json!({"report": "annual_report", "period_end": Q3}),
            422,
            "report_exists",
            "its reports: social_clause_report",
        ),
        (
            "submit-report",
            json!({"report": KIND, "period_end": "2026-09-29"}),
            422,
            "report_occurrence",
            "2026-09-30",
        ),
        (
            "submit-report",
            json!({"report": KIND, "period_end": "2026-13-01"}),
            422,
            "date",
            "YYYY-MM-DD",
        ),
        (
            "submit-report",
            json!({"report": KIND, "period_end": Q3, "submitted_on": "2026-11-23"}),
            422,
            "not_in_future",
            "cannot be later than today",
        ),
        (
            "reject-report",
            json!({"report": KIND, "period_end": Q3}),
            400,
            "",
            "reason is required",
        ),
    ];
    for (action, body, status, rule, message) in cases {
        let r = act(&app, action, body.clone()).await;
        assert_eq!(r.status, status, "{action} {body}: {}", r.body);
        if !rule.is_empty() {
            assert_eq!(r.body["rule"], rule, "{action} {body}: {}", r.body);
        }
        assert!(
            r.body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{action} {body}: {}",
            r.body
        );
    }
    assert_eq!(
        app.agreement(REF).await.body,
        before,
        "refused moves change nothing"
    );

    // An accepted report is final.
    for (action, body) in [
        ("submit-report", json!({"report": KIND, "period_end": Q3})),
        ("accept-report", json!({"report": KIND, "period_end": Q3})),
    ] {
        assert_eq!(act(&app, action, body).await.status, 200);
    }
    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": Q3}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("allowed: none"),
        "{}",
        r.body
    );
}

async fn a_submitted_report_stops_its_reminders_and_a_rejected_one_starts_them_again(app: TestApp) {
    app.load_examples().await;
    let today = sample_today();
    let before = q3_reminders(&app, today).await;
    assert_eq!(
        before,
        vec![format!("{REF}/report/{KIND}:{Q3}@2026-10-20/escalation")]
    );
    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": Q3}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(q3_reminders(&app, today).await.is_empty());
    assert!(
        q3_reminders(&app, today + Duration::days(10))
            .await
            .is_empty()
    );
    let r = act(
        &app,
        "reject-report",
        json!({"report": KIND, "period_end": Q3, "reason": "ofullständig"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(q3_reminders(&app, today).await, before);
}

/// Every `/l/` link in a text, rebased on the test server.
pub(crate) fn links_in(app: &TestApp, text: &str) -> Vec<String> {
    let base = app.registry.settings.public_url.trim_end_matches('/');
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix(base))
        .filter(|path| path.starts_with("/l/"))
        .map(|path| format!("{}{path}", app.address))
        .collect()
}

/// Sweeps and sends the samples' reminders to `.eml` files; returns the text part of the Q3
/// report's message and the message's HTML part.
pub(crate) async fn q3_reminder_email(app: &TestApp) -> (String, String) {
    let settings = (*app.registry.settings).clone();
    let mailer = Mailer::from_settings(&settings).unwrap_or_else(|e| panic!("mailer: {e}"));
    let composer = Composer::new(&settings).unwrap_or_else(|e| panic!("composer: {e}"));
    let summary = run_once(
        &app.registry.db,
        &settings,
        &composer,
        &mailer,
        sample_today(),
        Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("notify: {e}"));
    assert!(summary.send.sent > 0, "{summary}");
    let dir = settings.data_dir.join("outbox");
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let mail = mailparse::parse_mail(&raw).unwrap_or_else(|e| panic!("{e}"));
        let subject = mailparse::MailHeaderMap::get_first_value(mail.headers.as_slice(), "Subject")
            .unwrap_or_default();
        if !(subject.contains(REF) && subject.contains("rapport")) {
            continue;
        }
        let alt = &mail.subparts[0];
        let text = alt.subparts[0].get_body().unwrap_or_default();
        let html = alt.subparts[1].get_body().unwrap_or_default();
        return (text, html);
    }
    panic!("no report reminder for {REF} among the .eml files");
}

/// A report form with the file and the Q3 figures as CSV.
fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    multipart_with(name, bytes, Some(Q3_CSV))
}

fn multipart_with(name: &str, bytes: &[u8], figures_csv: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "----avtal-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    if let Some(csv) = figures_csv {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"figures_csv\"; filename=\"q3.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, link: &str, name: &str, bytes: &[u8]) -> crate::helpers::Reply {
    let (content_type, body) = multipart(name, bytes);
    let path = link.strip_prefix(&app.address).unwrap_or(link);
    app.post_raw(&format!("{path}/report"), &content_type, body)
        .await
}

async fn page(app: &TestApp, link: &str) -> crate::helpers::Reply {
    app.get(link.strip_prefix(&app.address).unwrap_or(link))
        .await
}

async fn acknowledge(app: &TestApp, link: &str) -> crate::helpers::Reply {
    let path = link.strip_prefix(&app.address).unwrap_or(link);
    app.post_raw(
        &format!("{path}/acknowledge"),
        "application/x-www-form-urlencoded",
        Vec::new(),
    )
    .await
}

fn html(r: &crate::helpers::Reply) -> &str {
    r.body.as_str().unwrap_or_default()
}

async fn a_link_from_a_real_reminder_acknowledges_and_takes_the_report(app: TestApp) {
    app.load_examples().await;
    let (text, html_part) = q3_reminder_email(&app).await;
    let links = links_in(&app, &text);
    assert_eq!(
        links.len(),
        2,
        "an acknowledge and an upload link in:\n{text}"
    );
    assert!(text.contains("Bekräfta att du har fått den här påminnelsen:"));
    assert!(text.contains("Lämna in rapporten här (PDF, ODT eller DOCX):"));
    assert!(
        html_part.contains("Lämna in rapporten (PDF, ODT eller DOCX)</a>"),
        "{html_part}"
    );
    let (ack_link, upload_link) = (&links[0], &links[1]);

    // The page names the agreement, the report, the period, the due date and the state.
    let r = page(&app, upload_link).await;
    assert_eq!(r.status, 200, "{}", html(&r));
    for want in [
        REF,
        "Ramavtal måleriarbeten med sysselsättningskrav",
        "rapport om sociala villkor",
        "30 september 2026",
        "20 oktober 2026",
        "försenad och eskalerad",
        "<label for=\"file\">",
        "name=\"file\"",
    ] {
        assert!(html(&r).contains(want), "{want:?} missing in {}", html(&r));
    }
    let ack_page = page(&app, ack_link).await;
    assert_eq!(ack_page.status, 200);
    assert!(
        !html(&ack_page).contains("name=\"file\""),
        "an acknowledge link has no upload form"
    );

    // Acknowledge.
    let r = acknowledge(&app, ack_link).await;
    assert_eq!(r.status, 200, "{}", html(&r));
    assert!(html(&r).contains("Tack!"));
    let a = app.agreement(REF).await.body;
    assert_eq!(
        occurrence(&a["agreement"], Q3)["acknowledged_on"],
        "2026-11-22"
    );
    assert_eq!(
        occurrence(&a["agreement"], Q3)["state"],
        "late",
        "still open"
    );

    // Upload the report.
    let pdf = small_pdf();
    let r = upload(&app, upload_link, "Rapport Q3.pdf", &pdf).await;
    assert_eq!(r.status, 200, "{}", html(&r));
    assert!(html(&r).contains(&sha256_hex(&pdf)), "{}", html(&r));
    let a = app.agreement(REF).await.body;
    let rec = occurrence(&a["agreement"], Q3);
    assert_eq!(rec["state"], "submitted");
    assert_eq!(rec["file_sha256"], sha256_hex(&pdf));

    // Officers list and download it.
    let list = app
        .get(&format!("/api/v1/agreements/{REF}/report-files"))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let item = &list.body["items"][0];
    assert_eq!(item["sha256"], sha256_hex(&pdf));
    assert_eq!(item["media_type"], "application/pdf");
    assert_eq!(item["original_name"], "Rapport Q3.pdf");
    assert_eq!(
        item["uploaded_by"],
        format!("link:{REF}/{KIND}@{Q3}"),
        "the audit actor names the occurrence"
    );
    let download = item["download"].as_str().unwrap_or_default();
    let resp = app
        .client
        .get(format!("{}{download}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    let got = resp.bytes().await.unwrap_or_default();
    assert_eq!(sha256_hex(&got), sha256_hex(&pdf));

    let audit = app
        .get(&format!("/api/v1/audit?actor=link:{REF}/{KIND}@{Q3}"))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        actions,
        [
            "report_file.create",
            "agreement.submit_report",
            "agreement.acknowledge_report"
        ],
        "{}",
        audit.body
    );

    // The reminders stop, and the link has done its job.
    assert!(q3_reminders(&app, sample_today()).await.is_empty());
    let r = page(&app, upload_link).await;
    assert_eq!(r.status, 410, "{}", html(&r));
    assert!(html(&r).contains("redan inlämnad"));
    let r = upload(&app, upload_link, "igen.pdf", &pdf).await;
    assert_eq!(r.status, 410, "{}", html(&r));
    let list = app
        .get(&format!("/api/v1/agreements/{REF}/report-files"))
        .await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
}

fn sign(app: &TestApp, claims: &LinkClaims) -> String {
    let key = app
        .registry
        .link_key()
        .unwrap_or_else(|e| panic!("link key: {e}"));
    format!("{}/l/{}", app.address, key.sign(claims))
}

fn claims(period_end: &str, purpose: Purpose, expires: NaiveDate) -> LinkClaims {
    LinkClaims {
        reference: Reference::parse(REF).unwrap_or_else(|e| panic!("{e}")),
        report: KIND.into(),
        period_end: d(period_end),
        purpose,
        expires,
    }
}

/// Changes one character in the middle of the payload to another base64url character.
fn tamper(link: &str) -> String {
    let (head, tail) = link
        .split_once("/l/v1.")
        .unwrap_or_else(|| panic!("{link}"));
    let mut chars: Vec<char> = tail.chars().collect();
    let i = 10;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    format!("{head}/l/v1.{}", chars.into_iter().collect::<String>())
}

async fn tampered_expired_foreign_and_malformed_links_get_their_page_and_change_nothing(
    app: TestApp,
) {
    app.load_examples().await;
    let today = sample_today();
    let later = today + Duration::days(30);
    let key = app
        .registry
        .link_key()
        .unwrap_or_else(|e| panic!("link key: {e}"));
    let r = Reference::parse(REF).unwrap_or_else(|e| panic!("{e}"));
    let good = report_links(key, &app.registry.settings, &r, KIND, d(Q3), today);
    let good = format!(
        "{}{}",
        app.address,
        good.upload
            .strip_prefix(app.registry.settings.public_url.as_str())
            .unwrap_or_default()
    );
    assert_eq!(page(&app, &good).await.status, 200);

    // A link for the Q2 period with the signature of the Q3 one.
    let q2 = sign(&app, &claims("2026-06-30", Purpose::Report, later));
    let q2_payload = q2.rsplit_once('.').map(|(p, _)| p).unwrap_or_default();
    let q3_tag = good.rsplit_once('.').map(|(_, t)| t).unwrap_or_default();
    let swapped = format!("{q2_payload}.{q3_tag}");

    let before = app.agreement(REF).await.body;
    let cases = [
        ("tampered", tamper(&good), 403, "Ogiltig länk"),
        ("swapped payload", swapped, 403, "Ogiltig länk"),
        (
            "expired",
            sign(
                &app,
                &claims(Q3, Purpose::Report, today - Duration::days(1)),
            ),
            410,
            "Länken gick ut 21 november 2026",
        ),
        (
            "no such period",
            sign(&app, &claims("2026-09-29", Purpose::Report, later)),
            404,
            "Länken finns inte",
        ),
        (
            "malformed",
            format!("{}/l/not-a-token", app.address),
            404,
            "Länken finns inte",
        ),
    ];
    for (name, link, status, text) in &cases {
        let r = page(&app, link).await;
        assert_eq!(r.status, *status, "{name}: {}", html(&r));
        assert!(html(&r).contains(text), "{name}: {}", html(&r));
        assert!(
            !html(&r).contains("måleriarbeten"),
            "{name}: no agreement data on a refused link"
        );
        let r = acknowledge(&app, link).await;
        assert_eq!(r.status, *status, "{name} acknowledge: {}", html(&r));
        let r = upload(&app, link, "r.pdf", &small_pdf()).await;
        assert_eq!(r.status, *status, "{name} upload: {}", html(&r));
    }

    // An acknowledge link cannot upload.
    let ack_only = sign(&app, &claims(Q3, Purpose::Acknowledge, later));
    let r = upload(&app, &ack_only, "r.pdf", &small_pdf()).await;
    assert_eq!(r.status, 403, "{}", html(&r));
    assert!(html(&r).contains("bara för att bekräfta"), "{}", html(&r));

    assert_eq!(app.agreement(REF).await.body, before, "nothing changed");
    let files = app
        .get(&format!("/api/v1/agreements/{REF}/report-files"))
        .await;
    assert_eq!(files.body["items"], json!([]));
}

async fn wrong_file_types_and_oversized_files_are_refused_and_change_nothing(app: TestApp) {
    app.load_examples().await;
    let max = app.registry.settings.upload_max_bytes;
    let link = sign(
        &app,
        &claims(Q3, Purpose::Report, sample_today() + Duration::days(5)),
    );
    let before = app.agreement(REF).await.body;
    let mut big = small_pdf();
    big.resize(max + 1, b'x');
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x00\x00evil.exeMZ".to_vec();
    let cases: [(&str, &str, Vec<u8>, u16, &str); 4] = [
        (
            "text as pdf",
            "rapport.pdf",
            b"hello".to_vec(),
            415,
            "Fel filtyp",
        ),
        (
            "html",
            "rapport.docx",
            b"<html><script>alert(1)</script>".to_vec(),
            415,
            "Fel filtyp",
        ),
        ("zip", "rapport.odt", zip, 415, "Fel filtyp"),
        ("too large", "rapport.pdf", big, 413, "Filen är för stor"),
    ];
    for (name, file, bytes, status, text) in cases {
        let r = upload(&app, &link, file, &bytes).await;
        assert_eq!(r.status, status, "{name}: {}", html(&r));
        assert!(html(&r).contains(text), "{name}: {}", html(&r));
    }
    // An empty file and no figures: the report carries figures, so they are asked for.
    let (content_type, body) = multipart_with("rapport.pdf", &[], None);
    let path = link.strip_prefix(&app.address).unwrap_or_default();
    let r = app
        .post_raw(&format!("{path}/report"), &content_type, body)
        .await;
    assert_eq!(r.status, 422, "{}", html(&r));
    assert!(
        html(&r).contains("id=\"e-req_employed-total\">Fältet måste fyllas i"),
        "{}",
        html(&r)
    );
    // A form without a file field.
    let r = app
        .post_raw(
            &format!(
                "{}/report",
                link.strip_prefix(&app.address).unwrap_or_default()
            ),
            "application/x-www-form-urlencoded",
            b"file=x".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", html(&r));
    assert_eq!(app.agreement(REF).await.body, before, "nothing changed");
    let files = app
        .get(&format!("/api/v1/agreements/{REF}/report-files"))
        .await;
    assert_eq!(files.body["items"], json!([]));
    // Exactly at the limit is fine.
    let mut exact = small_pdf();
    exact.resize(max, b' ');
    let r = upload(&app, &link, "rapport.pdf", &exact).await;
    assert_eq!(r.status, 200, "{}", html(&r));
}

async fn an_officer_hands_in_a_report_file_through_the_api(app: TestApp) {
    app.load_examples().await;
    let path = format!("/api/v1/agreements/{REF}/reports/{KIND}/{Q3}/file");
    let before = app.agreement(REF).await.body;

    let (content_type, body) = multipart("intyg.txt", b"just text");
    let r = app.post_raw(&path, &content_type, body).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["rule"], "file_type");
    let r = app
        .post_raw(&path, "application/json", b"{}".to_vec())
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["field"], "file");
    assert_eq!(app.agreement(REF).await.body, before, "nothing changed");
    assert_eq!(app.get(&path).await.status, 404, "no file yet");

    // A DOCX: a ZIP with [Content_Types].xml and word/document.xml.
    let mut docx = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    docx.extend_from_slice(&[0; 16]);
    docx.extend_from_slice(
        b"[Content_Types].xml...PK\x01\x02 word/document.xml [Content_Types].xml",
    );
    let (content_type, body) = multipart("Intyg Q3.docx", &docx);
    let r = app.post_raw(&path, &content_type, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["sha256"], sha256_hex(&docx));
    // Made by the admin's token: attributed to that user, as every other change is.
    assert_eq!(r.body["uploaded_by"], json!(app.admin_actor()));
    assert_eq!(
        r.body["file_name"],
        format!("{REF}_{KIND}_{Q3}.docx"),
        "named by the occurrence, with the type's extension"
    );
    let a = app.agreement(REF).await.body;
    assert_eq!(occurrence(&a["agreement"], Q3)["state"], "submitted");
    let resp = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    );
    assert_eq!(
        resp.bytes().await.unwrap_or_default().as_ref(),
        docx.as_slice()
    );

    // A second hand-in is refused: the report is submitted.
    let (content_type, body) = multipart("igen.pdf", &small_pdf());
    let r = app.post_raw(&path, &content_type, body).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["rule"], "report_state_transition");
}

/// Unfolds an iCalendar text into its content lines, checking CRLF and the 75-octet folding.
fn ics_lines(ics: &str) -> Vec<String> {
    assert!(ics.ends_with("\r\n"));
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "line over 75 octets: {line:?}");
        assert!(!line.contains('\n'), "bare LF in {line:?}");
    }
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn a_contacts_calendar_feed_lists_their_deadlines_until_it_is_revoked(app: TestApp) {
    app.load_examples().await;
    let contact = "ahmed.yusuf@malmo.example";
    let r = app
        .post(
            &format!("/api/v1/contacts/{contact}/calendar-feed"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let url = r.body["url"].as_str().unwrap_or_default().to_owned();
    let public = app.registry.settings.public_url.as_str();
    assert!(
        url.starts_with(&format!("{public}/calendar/")) && url.ends_with(".ics"),
        "{url}"
    );
    let path = url.strip_prefix(public).unwrap_or_default().to_owned();

    let resp = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/calendar")),
    );
    let ics = resp.text().await.unwrap_or_default();
    let lines = ics_lines(&ics);
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));

    // One event per deadline on which the contact gets reminders, as the engine says.
    let p = plan(
        &app.registry.db,
        sample_today(),
        &app.registry.settings.reminders,
    )
    .await
    .unwrap_or_else(|e| panic!("plan: {e}"));
    let email =
        avtal::domain::party::EmailAddress::parse(contact).unwrap_or_else(|e| panic!("{e}"));
    let mine: Vec<_> = p
        .deadlines
        .iter()
        .filter(|d| d.recipients.to.contains(&email) || d.recipients.cc.contains(&email))
        .collect();
    assert!(mine.len() > 3, "the contact has deadlines: {}", mine.len());
    let events = lines.iter().filter(|l| *l == "BEGIN:VEVENT").count();
    assert_eq!(events, mine.len());
    let q3_uid = format!("UID:{REF}/report/{KIND}:{Q3}@2026-10-20@avtal");
    assert!(lines.contains(&q3_uid), "{q3_uid} in\n{ics}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("SUMMARY:Rapport (social clause report) senast: AGR-2025-0005")),
        "{ics}"
    );

    // A new feed replaces the old one; revoking ends the new one.
    let again = app
        .post(
            &format!("/api/v1/contacts/{contact}/calendar-feed"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["replaced"], 1);
    assert_eq!(app.get(&path).await.status, 404, "the old URL is revoked");
    let new_path = again.body["url"]
        .as_str()
        .and_then(|u| u.strip_prefix(public))
        .unwrap_or_default()
        .to_owned();
    assert_eq!(app.get(&new_path).await.status, 200);
    let del = app
        .client
        .delete(format!(
            "{}/api/v1/contacts/{contact}/calendar-feed",
            app.address
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(del.status().as_u16(), 204);
    assert_eq!(app.get(&new_path).await.status, 404);
    let del = app
        .client
        .delete(format!(
            "{}/api/v1/contacts/{contact}/calendar-feed",
            app.address
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(del.status().as_u16(), 404, "nothing left to revoke");

    for junk in [
        "/calendar/nope.ics",
        "/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
        "/calendar/x",
    ] {
        assert_eq!(app.get(junk).await.status, 404, "{junk}");
    }
    let unknown = app
        .post(
            "/api/v1/contacts/nobody@nowhere.example/calendar-feed",
            &json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    let audit = app.get("/api/v1/audit?action=calendar_feed.create").await;
    assert_eq!(audit.body["total"], 2, "{}", audit.body);
    let audit = app.get("/api/v1/audit?action=calendar_feed.revoke").await;
    assert_eq!(audit.body["total"], 1, "{}", audit.body);
    let text = audit.body.to_string();
    assert!(
        !text.contains(
            path.trim_start_matches("/calendar/")
                .trim_end_matches(".ics")
        ),
        "the token is never logged"
    );
}

crate::on_both_backends!(
    report_states_move_by_submit_accept_and_reject_through_the_api,
    illegal_report_moves_are_refused_listing_the_allowed_ones_and_change_nothing,
    a_submitted_report_stops_its_reminders_and_a_rejected_one_starts_them_again,
    a_link_from_a_real_reminder_acknowledges_and_takes_the_report,
    tampered_expired_foreign_and_malformed_links_get_their_page_and_change_nothing,
    a_contacts_calendar_feed_lists_their_deadlines_until_it_is_revoked,
    an_officer_hands_in_a_report_file_through_the_api,
);

/// An app whose upload limit is 64 KiB, so the oversized case stays small.
pub(crate) async fn spawn_small_uploads(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut settings = test_settings(backend, dir.path()).await;
    settings.upload_max_bytes = 64 * 1024;
    spawn_with(backend, settings, dir).await
}

mod small_uploads {
    use super::*;

    #[tokio::test]
    async fn on_sqlite_wrong_file_types_and_oversized_files_are_refused() {
        wrong_file_types_and_oversized_files_are_refused_and_change_nothing(
            spawn_small_uploads(Backend::Sqlite).await,
        )
        .await;
    }

    #[tokio::test]
    async fn on_postgres_wrong_file_types_and_oversized_files_are_refused() {
        wrong_file_types_and_oversized_files_are_refused_and_change_nothing(
            spawn_small_uploads(Backend::Postgres).await,
        )
        .await;
    }
}
