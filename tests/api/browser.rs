//! End-to-end tests in headless Chromium, driven through chromedriver with fantoccini: an
//! officer signs in, creates a complete IOP through the form, fixes a validation error, and
//! generates and downloads that IOP's own PDF, whose text `pdftotext` reads back; an auditor sees
//! no edit button and is refused a POST; an enterprise contact follows the signed link of a real
//! reminder e-mail and uploads its report, which the buyer's officer then accepts. Screenshots of the main pages are written to
//! `docs/ui-*.png`.
//!
//! Without chromedriver the tests print a note and pass, except under `CI`, where they fail.
//! They run on SQLite only: what they add over the HTTP tests is the browser, not the database.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test reports a failure by panicking"
)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use avtal::domain::access::Role;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{Backend, OFFICER_ORG, TestApp, spawn_app};

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

fn chromedriver_path() -> Option<String> {
    let path = std::env::var("AVTAL_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()
        .filter(|s| s.success())
        .map(|_| path)
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_browser() -> Option<(Driver, Client)> {
    let Some(path) = chromedriver_path() else {
        assert!(
            !in_ci(),
            "chromedriver is missing; CI must run the browser tests (scripts/setup.sh installs it)"
        );
        println!(
            "NOTE: chromedriver not found; the browser tests are skipped (bash scripts/setup.sh installs it)"
        );
        return None;
    };
    let port = crate::helpers::SmtpSink::free_port().await;
    // Chromium on Linux takes its locale (and so the date inputs' format) from the environment.
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .env("LANGUAGE", "sv")
        .env("LANG", "sv_SE.UTF-8")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, port };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                                    "--window-size=1280,1100", "--lang=sv-SE"],
                           "prefs": {"intl.accept_languages": "sv-SE,sv"}}),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(c) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return Some((driver, c));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {}", driver.port);
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Sets a date input: typing into Chromium's date widget depends on the locale's field order.
async fn fill_date(c: &Client, css: &str, date: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    c.execute(
        "document.querySelector(arguments[0]).value = arguments[1];",
        vec![serde_json::json!(css), serde_json::json!(date)],
    )
    .await
    .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(name);
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

async fn login(c: &Client, app: &TestApp, email: &str, password: &str) {
    c.goto(&format!("{}/login", app.address)).await.unwrap();
    fill(c, "#email", email).await;
    fill(c, "#password", password).await;
    click(c, "main form button[type=submit]").await;
}

/// Waits (up to 30 s, for a loaded machine) until the page shows an element matching `css`.
async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

async fn path_of(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_owned()
}

/// Chooses `value` in the select `css`.
async fn choose(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
}

/// The text of a PDF by `pdftotext`, whitespace collapsed; None (a note) when it is missing locally.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    match Command::new("pdftotext").arg(&path).arg("-").output() {
        Ok(out) if out.status.success() => Some(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => {
            assert!(
                !in_ci(),
                "CI must check the PDF's text: install poppler-utils (scripts/setup.sh)"
            );
            println!("NOTE: pdftotext not found; the PDF's text is not checked");
            None
        }
    }
}

#[tokio::test]
async fn an_officer_creates_a_complete_iop_in_the_browser_fixes_an_error_and_downloads_its_own_pdf()
{
    let app = spawn_app(Backend::Sqlite).await;
    app.load_examples().await;
    app.create_user(
        "sara@haninge.example",
        Role::Officer,
        Some(OFFICER_ORG),
        "ett bra lösenord",
    )
    .await;
    let Some((_driver, c)) = start_browser().await else {
        return;
    };

    login(&c, &app, "sara@haninge.example", "ett bra lösenord").await;
    wait_for(&c, "#h-upcoming").await;
    assert_eq!(path_of(&c).await, "/");
    let start = c.source().await.unwrap();
    assert!(start.contains("Tidsfrister") && start.contains("AGR-2025-0004"));
    screenshot(&c, "ui-start.png").await;

    // Every section of the form, as a person would fill it in; first with the end before the start.
    c.goto(&format!("{}/agreements/new?kind=iop", app.address))
        .await
        .unwrap();
    wait_for(&c, "#f-reference").await;
    let language = c
        .execute("return navigator.language;", vec![])
        .await
        .unwrap();
    assert!(
        language.as_str().is_some_and(|l| l.starts_with("sv")),
        "Chromium runs in Swedish (chromium-l10n), so date inputs show ÅÅÅÅ-MM-DD: {language}"
    );
    for (css, text) in [
        ("#f-reference", "AGR-2027-0300"),
        ("#f-title", "Läxhjälp för unga i Haninge"),
        ("#f-diarienummer", "SN 2026/0412"),
        ("#f-decision-body", "Socialnämnden Haninge"),
        ("#f-decision-paragraph", "§ 92"),
        ("#f-partner", "769990-0077"),
        ("#f-contacts-owner", "sara.nystrom@haninge.example"),
        ("#f-contacts-partner", "jenny@solrosen.example"),
        ("#f-contacts-signatories-0", "sara.nystrom@haninge.example"),
        ("#f-value-amount_sek", "300000"),
        (
            "#f-iop-background",
            "Många unga lämnar grundskolan utan godkända betyg.",
        ),
        ("#f-iop-purpose", "Fler unga klarar skolan"),
        (
            "#f-iop-value_base",
            "Alla unga har rätt till stöd i skolan.",
        ),
        ("#f-iop-target_group", "Elever i årskurs 7–9"),
        (
            "#f-iop-goals-0-text",
            "Femtio elever per termin får läxhjälp",
        ),
        ("#f-iop-goals-0-indicator", "antal elever per termin"),
        ("#f-iop-activities-0-text", "Läxhjälp två kvällar i veckan"),
        (
            "#f-iop-activities-0-min_volume",
            "minst 60 tillfällen per år",
        ),
        ("#f-iop-contributions-0-amount_sek", "300000"),
        ("#f-iop-contributions-0-per", "år"),
        ("#f-iop-contributions-0-text", "Bidrag till samordningen"),
        ("#f-iop-governance", "Styrgrupp som möts varje kvartal."),
        ("#f-iop-legal_assessment-by", "Kommunjurist Haninge"),
        (
            "#f-iop-legal_assessment-conclusion",
            "Ingen ersättning för tjänster på en marknad.",
        ),
        ("#f-options-0-months", "12"),
        ("#f-options-0-notice_months", "6"),
        ("#f-termination-notice_months", "3"),
        ("#f-reporting-0-due_offset_days", "60"),
        // The terms the IOP's clauses need: insurance and the state-aid reasoning.
        ("#f-terms-insurance-liability_sek", "5000000"),
        (
            "#f-terms-state_aid-reasoning",
            "Läxhjälpen är en icke-ekonomisk verksamhet; bidraget är inte statsstöd.",
        ),
    ] {
        fill(&c, css, text).await;
    }
    choose(&c, "#f-value-basis", "per_year").await;
    choose(&c, "#f-iop-activities-0-party", "partner").await;
    choose(&c, "#f-iop-contributions-0-party", "buyer").await;
    choose(&c, "#f-iop-contributions-0-kind", "money").await;
    choose(&c, "#f-options-0-decided_by", "mutual").await;
    choose(&c, "#f-reporting-0-kind", "annual_report").await;
    choose(&c, "#f-reporting-0-recurrence", "yearly").await;
    choose(&c, "#f-terms-state_aid-basis", "no_aid").await;
    fill_date(&c, "#f-decision-date", "2026-11-18").await;
    fill_date(&c, "#f-iop-legal_assessment-date", "2026-11-01").await;
    fill_date(&c, "#f-period-start", "2027-01-01").await;
    fill_date(&c, "#f-period-original_end", "2026-12-31").await;
    fill_date(&c, "#f-reporting-0-first_period_end", "2027-12-31").await;
    // A second signatory: "Lägg till rad" shows one more row and keeps what was typed.
    click(&c, "button[name=add][value=signatories]").await;
    wait_for(&c, "#f-contacts-signatories-1").await;
    let kept = c
        .find(Locator::Css("#f-iop-goals-0-text"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("Femtio elever per termin får läxhjälp")
    );
    fill(&c, "#f-contacts-signatories-1", "jenny@solrosen.example").await;
    c.execute(
        "document.getElementById('f-iop-target_group').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-form-iop.png").await;
    click(&c, "#save").await;
    let error = wait_for(&c, "#e-period-original_end")
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("ligger före startdatumet"), "{error}");
    let kept = c
        .find(Locator::Css("#f-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Läxhjälp för unga i Haninge"));
    c.execute(
        "document.getElementById('f-period-start').scrollIntoView(); window.scrollBy(0, -140);",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-form-error.png").await;

    fill_date(&c, "#f-period-original_end", "2028-12-31").await;
    click(&c, "#save").await;
    wait_for(&c, "p.notice").await;
    assert_eq!(path_of(&c).await, "/agreements/AGR-2027-0300");
    assert!(c.source().await.unwrap().contains("Avtalet är sparat"));

    // Its own IOP document: generated from the agreement page, downloaded, read back.
    let typst = std::env::var_os("AVTAL_TYPST");
    if typst.is_none() {
        assert!(
            !in_ci(),
            "CI must render the PDF: set AVTAL_TYPST (scripts/test.sh does)"
        );
        println!("NOTE: AVTAL_TYPST is not set; the PDF step of the browser test is skipped");
    } else {
        click(&c, "button[name='template'][value='iop']").await;
        let link = wait_for(&c, "a[href^='/documents/']").await;
        let href = link.attr("href").await.unwrap().unwrap_or_default();
        assert!(link.text().await.unwrap().starts_with("AGR-2027-0300"));
        // Download it with the browser's session cookie.
        let cookie = c.get_named_cookie("avtal_session").await.unwrap();
        let pdf = reqwest::Client::new()
            .get(format!("{}{href}", app.address))
            .header("cookie", format!("avtal_session={}", cookie.value()))
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status().as_u16(), 200);
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        let bytes = pdf.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF"));
        if let Some(text) = pdf_text(&bytes) {
            for expected in [
                "Läxhjälp för unga i Haninge",
                OFFICER_ORG,
                "769990-0077",
                "Femtio elever per termin får läxhjälp",
            ] {
                assert!(text.contains(expected), "{expected} not in the PDF: {text}");
            }
        }
        // Signed and back: the officer records the signed copy with the page's form.
        let dir = tempfile::tempdir().unwrap();
        let scan = dir.path().join("undertecknat.pdf");
        std::fs::write(&scan, &bytes).unwrap();
        click(&c, "details.sign summary").await;
        c.find(Locator::Css("details.sign input[type='file']"))
            .await
            .unwrap()
            .send_keys(scan.to_str().unwrap())
            .await
            .unwrap();
        fill(
            &c,
            "details.sign input[name='signatories[0].name']",
            "Sara Nyström",
        )
        .await;
        fill(
            &c,
            "details.sign input[name='signatories[0].role']",
            "förvaltningschef",
        )
        .await;
        click(&c, "details.sign button[type='submit']").await;
        let badge = wait_for(&c, ".badge.signed").await;
        assert!(badge.text().await.unwrap().contains("2026-11-22"));
        c.execute(
            "document.getElementById('h-docs').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
        screenshot(&c, "ui-signed.png").await;
    }
    c.execute("document.getElementById('h-iop').scrollIntoView();", vec![])
        .await
        .unwrap();
    screenshot(&c, "ui-agreement-new.png").await;
    c.goto(&format!("{}/agreements/AGR-2025-0004", app.address))
        .await
        .unwrap();
    screenshot(&c, "ui-agreement.png").await;
    c.execute(
        "document.getElementById('h-timeline').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-timeline.png").await;
    c.goto(&format!("{}/agreements?sort=-end", app.address))
        .await
        .unwrap();
    screenshot(&c, "ui-list.png").await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_auditor_in_the_browser_sees_no_edit_button_and_is_refused_a_post() {
    let app = spawn_app(Backend::Sqlite).await;
    app.load_examples().await;
    app.create_user(
        "revisor@test.example",
        Role::Auditor,
        None,
        "ett bra lösenord",
    )
    .await;
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    login(&c, &app, "revisor@test.example", "ett bra lösenord").await;
    wait_for(&c, "#h-upcoming").await;
    c.goto(&format!("{}/agreements/AGR-2025-0004", app.address))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("Tidslinje"));
    assert!(!page.contains("Redigera avtalet"));
    assert!(c.find(Locator::Css("form[action*='/do/']")).await.is_err());
    // A forged POST from the auditor's own session, with its valid form token: still refused.
    let csrf = c
        .find(Locator::Css("input[name=csrf]"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let cookie = c.get_named_cookie("avtal_session").await.unwrap();
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!(
            "{}/agreements/AGR-2025-0004/do/exercise-option",
            app.address
        ))
        .header("cookie", format!("avtal_session={}", cookie.value()))
        .form(&[("csrf", csrf.as_str()), ("seq", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // The accounts page, as an admin.
    app.create_user("chef@test.example", Role::Admin, None, "ett bra lösenord")
        .await;
    login(&c, &app, "chef@test.example", "ett bra lösenord").await;
    wait_for(&c, "#h-upcoming").await;
    c.goto(&format!("{}/admin/users", app.address))
        .await
        .unwrap();
    let users = wait_for(&c, "table").await.text().await.unwrap();
    assert!(users.contains("revisor@test.example") && users.contains("Revisor"));
    screenshot(&c, "ui-users.png").await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_enterprise_hands_in_a_report_through_the_link_in_its_reminder_and_an_officer_accepts_it()
 {
    let app = spawn_app(Backend::Sqlite).await;
    app.load_examples().await;
    // Malmö is the buyer of AGR-2025-0005, whose Q3 report is overdue on the samples' today.
    app.create_user(
        "ahmed@malmo.example",
        Role::Officer,
        Some("212900-0044"),
        "ett bra lösenord",
    )
    .await;
    let (text, _) = crate::links::q3_reminder_email(&app).await;
    let links = crate::links::links_in(&app, &text);
    assert_eq!(links.len(), 2, "{text}");
    let upload_link = &links[1];
    let Some((_driver, c)) = start_browser().await else {
        return;
    };

    // The contact follows the link from the e-mail: no account, no session.
    c.goto(upload_link).await.unwrap();
    wait_for(&c, "#file").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("AGR-2025-0005") && page.contains("Lämna in rapporten"));
    // The report carries the employment requirement's figures.
    for (id, v) in [
        ("#fig-req_employed-women", "0"),
        ("#fig-req_employed-men", "1"),
        ("#fig-req_employed-other", "0"),
        ("#fig-req_placements-women", "1"),
        ("#fig-req_placements-men", "0"),
        ("#fig-req_placements-other", "0"),
        ("#fig-req_months-women", "2"),
        ("#fig-req_months-men", "3"),
        ("#fig-req_months-other", "0"),
    ] {
        fill(&c, id, v).await;
    }
    // The shared stylesheet loads under the link pages' strict policy.
    let bar = c
        .execute(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        bar.as_str(),
        Some("rgb(29, 92, 99)"),
        "avtal.css is applied"
    );
    let dir = tempfile::tempdir().unwrap();
    let pdf = crate::links::small_pdf();
    let sha = crate::links::sha256_hex(&pdf);
    let path = dir.path().join("rapport-q3.pdf");
    std::fs::write(&path, &pdf).unwrap();
    c.find(Locator::Css("#file"))
        .await
        .unwrap()
        .send_keys(&path.display().to_string())
        .await
        .unwrap();
    screenshot(&c, "ui-link-upload.png").await;
    click(&c, "form[action$='/report'] button").await;
    let done = wait_for(&c, ".done").await.text().await.unwrap();
    assert!(
        done.contains("Tack!") && done.contains("är inlämnad"),
        "{done}"
    );
    assert!(done.contains(&sha), "{done}");
    screenshot(&c, "ui-link-done.png").await;

    // The buyer's officer sees it handed in, with the file's SHA-256, and accepts it.
    login(&c, &app, "ahmed@malmo.example", "ett bra lösenord").await;
    wait_for(&c, "#h-upcoming").await;
    c.goto(&format!("{}/agreements/AGR-2025-0005", app.address))
        .await
        .unwrap();
    wait_for(&c, "#h-reports").await;
    let reports = c
        .find(Locator::Css("table.reports"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        reports.contains("Inlämnad") && reports.contains(&sha),
        "{reports}"
    );
    c.execute(
        "document.getElementById('h-reports').scrollIntoView(); window.scrollBy(0, -10);",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-report-accept.png").await;
    click(&c, "form[action$='/do/accept-report'] button").await;
    wait_for(&c, "p.notice").await;
    assert!(
        c.source()
            .await
            .unwrap()
            .contains("Åtgärden är registrerad")
    );
    let a = app.agreement("AGR-2025-0005").await.body;
    let rec = a["agreement"]["reporting"][0]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["period_end"] == "2026-09-30")
        .unwrap()
        .clone();
    assert_eq!(rec["state"], "accepted", "{rec}");
    assert_eq!(rec["file_sha256"], sha.as_str());

    // An enterprise contact with an account hands in its own report on its agreement's page.
    app.create_user(
        "fatima@ljusglimt.example",
        Role::Enterprise,
        Some(crate::helpers::ENTERPRISE_ORG),
        "ett bra lösenord",
    )
    .await;
    login(&c, &app, "fatima@ljusglimt.example", "ett bra lösenord").await;
    wait_for(&c, "#h-upcoming").await;
    click(&c, "a[href='/agreements/AGR-2025-0004#h-reports']").await;
    let input = wait_for(&c, "fieldset.report-hand-in input[type=file]").await;
    input.send_keys(&path.display().to_string()).await.unwrap();
    c.execute(
        "document.getElementById('h-reports').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-enterprise-report.png").await;
    click(&c, "fieldset.report-hand-in form[enctype] button").await;
    let notice = wait_for(&c, "p.notice").await.text().await.unwrap();
    assert!(notice.contains("Rapporten är inlämnad"), "{notice}");
    assert!(c.source().await.unwrap().contains(&sha));
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_officer_sees_progress_against_target_and_the_follow_up_and_an_enterprise_hands_in_figures()
 {
    let app = spawn_app(Backend::Sqlite).await;
    app.load_examples().await;
    // Farsta (AGR-2025-0001's buyer).
    app.create_user(
        "maria@farsta.example",
        Role::Officer,
        Some("212900-0010"),
        "ett bra lösenord",
    )
    .await;
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    login(&c, &app, "maria@farsta.example", "ett bra lösenord").await;
    wait_for(&c, "#h-behind").await;
    c.goto(&format!("{}/agreements/AGR-2025-0001", app.address))
        .await
        .unwrap();
    wait_for(&c, "#h-outcomes").await;
    c.execute(
        "document.getElementById('h-outcomes').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-outcomes-agreement.png").await;
    c.goto(&format!("{}/outcomes?group=buyer", app.address))
        .await
        .unwrap();
    wait_for(&c, "svg.chart").await;
    screenshot(&c, "ui-outcomes-follow-up.png").await;

    // The enterprise's signed link: the figures form, a mistake, then accepted.
    let key = app.registry.link_key().unwrap();
    let claims = avtal::links::token::LinkClaims {
        reference: avtal::domain::agreement::Reference::parse("AGR-2025-0001").unwrap(),
        report: "participant_statistics".into(),
        period_end: avtal::domain::dates::parse_iso_date("2026-12-31").unwrap(),
        purpose: avtal::links::token::Purpose::Report,
        expires: crate::helpers::sample_today() + chrono::Duration::days(30),
    };
    c.goto(&format!("{}/l/{}", app.address, key.sign(&claims)))
        .await
        .unwrap();
    wait_for(&c, "#fig-participants-women").await;
    for (id, v) in [
        ("#fig-participants-women", "3"),
        ("#fig-participants-men", "2"),
        ("#fig-participants-other", "0"),
        ("#fig-participants-total", "6"),
        ("#fig-participants_employed-women", "1"),
        ("#fig-participants_employed-men", "1"),
        ("#fig-participants_employed-other", "0"),
        ("#fig-moved_on_share-women", "40"),
        ("#fig-moved_on_share-men", "30"),
        ("#fig-moved_on_share-other", "0"),
        ("#fig-moved_on_share-total", "35"),
    ] {
        fill(&c, id, v).await;
    }
    click(&c, "form[action$='/report'] button").await;
    wait_for(&c, "td.has-error").await;
    c.execute(
        "document.querySelector('fieldset.figures').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    screenshot(&c, "ui-link-figures.png").await;
    fill(&c, "#fig-participants-men", "3").await;
    click(&c, "form[action$='/report'] button").await;
    let done = wait_for(&c, ".done").await.text().await.unwrap();
    assert!(done.contains("Tack!"), "{done}");

    // The officer corrects the figures of an accepted half-year on its own page.
    c.goto(&format!(
        "{}/agreements/AGR-2025-0001/reports/participant_statistics/2026-06-30/figures",
        app.address
    ))
    .await
    .unwrap();
    wait_for(&c, "#fig-participants-women").await;
    fill(&c, "#fig-participants-women", "3").await;
    fill(&c, "#fig-participants-total", "").await;
    screenshot(&c, "ui-officer-figures.png").await;
    click(&c, "form[action$='/figures'] button").await;
    let notice = wait_for(&c, "p.notice").await.text().await.unwrap();
    assert!(notice.contains("rättade siffrorna"), "{notice}");
    c.close().await.unwrap();
}
