//! End-to-end tests in headless Chromium, driven through chromedriver with fantoccini: an
//! officer signs in, creates an IOP through the form, fixes a validation error and generates and
//! downloads a PDF; an auditor sees no edit button and is refused a POST. Screenshots of the
//! main pages are written to `docs/ui-*.png`.
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
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, port };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                                    "--window-size=1280,1100", "--lang=sv-SE"]}),
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

#[tokio::test]
async fn an_officer_creates_an_iop_in_the_browser_fixes_an_error_and_downloads_a_pdf() {
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

    // The form, keyboard-free but as a person would: an end before the start first.
    c.goto(&format!("{}/agreements/new?kind=iop", app.address))
        .await
        .unwrap();
    fill(&c, "#f-reference", "AGR-2027-0300").await;
    fill(&c, "#f-title", "Läxhjälp för unga i Haninge").await;
    fill(&c, "#f-partner", "769990-0077").await;
    fill_date(&c, "#f-period-start", "2027-01-01").await;
    fill_date(&c, "#f-period-original_end", "2026-12-31").await;
    fill(&c, "#f-value-amount_sek", "300000").await;
    fill(&c, "#f-iop-purpose", "Fler unga klarar skolan").await;
    fill(&c, "#f-iop-goals", "50 elever per termin").await;
    click(&c, "main form button[type=submit]").await;
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
    click(&c, "main form button[type=submit]").await;
    wait_for(&c, "p.notice").await;
    assert_eq!(path_of(&c).await, "/agreements/AGR-2027-0300");
    assert!(c.source().await.unwrap().contains("Avtalet är sparat"));

    // A PDF: the new draft lacks what the IOP document needs, and the page says what in Swedish;
    // Haninge's complete IOP AGR-2026-0009 renders.
    let typst = std::env::var_os("AVTAL_TYPST");
    if typst.is_none() {
        assert!(
            !in_ci(),
            "CI must render the PDF: set AVTAL_TYPST (scripts/test.sh does)"
        );
        println!("NOTE: AVTAL_TYPST is not set; the PDF step of the browser test is skipped");
    } else {
        click(&c, "form[action$='/documents'] button").await;
        wait_for(&c, "div.alert").await;
        let page = c.source().await.unwrap();
        assert!(page.contains("Saknas för dokumentet"), "{page}");
        c.goto(&format!("{}/agreements/AGR-2026-0009", app.address))
            .await
            .unwrap();
        click(&c, "form[action$='/documents'] button").await;
        let link = wait_for(&c, "a[href^='/documents/']").await;
        let href = link.attr("href").await.unwrap().unwrap_or_default();
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
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    }
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
    c.close().await.unwrap();
}
