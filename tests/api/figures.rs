//! Figures of a report occurrence entered by signed-in users: the agreement's officer enters and
//! corrects them on the pages, the reporting enterprise hands them in from its own pages (and
//! sees nothing of other organisations' reports), and the API takes them as the documented CSV
//! (or JSON) and serves the pre-filled template, naming row, column, value and rule when refused.

use avtal::domain::access::Role;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const REF: &str = "AGR-2025-0001";
const KIND: &str = "participant_statistics";
/// The open half-year of the sample (the three before are accepted).
const OPEN: &str = "2026-12-31";
/// The latest accepted half-year.
const ACCEPTED: &str = "2026-06-30";
/// The buyer of AGR-2025-0001 and its IOP partner (the reporting organisation).
const BUYER: &str = "212900-0010";
const PARTNER: &str = "769990-0010";
/// An organisation that is no party to AGR-2025-0001.
const STRANGER: &str = "769990-0051";
const PASSWORD: &str = "ett bra lösenord";

fn record(agreement: &Value, period_end: &str) -> Value {
    agreement["reporting"][0]["occurrences"]
        .as_array()
        .and_then(|v| v.iter().find(|o| o["period_end"] == period_end))
        .cloned()
        .unwrap_or_default()
}

async fn login(
    app: &TestApp,
    email: &str,
    role: Role,
    org: Option<&str>,
) -> (reqwest::Client, String) {
    app.create_user(email, role, org, PASSWORD).await;
    app.browser_login(email, PASSWORD).await
}

fn figures_path(period_end: &str) -> String {
    format!("/agreements/{REF}/reports/{KIND}/{period_end}/figures")
}

/// A link to the figures of `period_end` with its text, as the page writes it (`/` escaped).
fn figures_link(period_end: &str, text: &str) -> String {
    format!(
        "{}\">{text}",
        figures_path(period_end)
            .replace("/figures", "\u{1}")
            .replace('/', "&#x2F;")
            .replace('\u{1}', "/figures")
    )
}

/// Posts the figures form (multipart) with the session's CSRF token.
async fn post_figures(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    period_end: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let boundary = "----avtal-figures-boundary-7fQ2";
    let mut body = Vec::new();
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    for (k, v) in all {
        let file = if k == "figures_csv" {
            "; filename=\"siffror.csv\"\r\nContent-Type: text/csv"
        } else {
            ""
        };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"{file}\r\n\r\n{v}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = client
        .post(format!("{}{}", app.address, figures_path(period_end)))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, r.text().await.unwrap_or_default())
}

async fn get_page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn actions(app: &TestApp) -> Vec<(String, String)> {
    let log = app
        .get(&format!("/api/v1/audit?agreement={REF}&limit=100"))
        .await;
    log.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

const GOOD: &[(&str, &str)] = &[
    ("fig.participants.women", "3"),
    ("fig.participants.men", "3"),
    ("fig.participants.other", "0"),
    ("fig.participants_employed.women", "1"),
    ("fig.participants_employed.men", "1"),
    ("fig.participants_employed.other", "0"),
    ("fig.moved_on_share.total", "35"),
    ("fig.moved_on_share.women", "40"),
    ("fig.moved_on_share.men", "30"),
    ("fig.moved_on_share.other", "0"),
];

async fn an_officer_enters_and_corrects_figures_on_the_pages_in_swedish(app: TestApp) {
    app.load_examples().await;
    let (officer, csrf) = login(&app, "anna@farsta.example", Role::Officer, Some(BUYER)).await;

    // The agreement page links each occurrence to its figures.
    let (status, html) = get_page(&app, &officer, &format!("/agreements/{REF}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&figures_link(OPEN, "Ange siffror")), "{html}");
    assert!(
        html.contains(&figures_link(ACCEPTED, "Rätta siffrorna")),
        "{html}"
    );
    assert!(
        !html.contains(&figures_link("2027-06-30", "Ange siffror")),
        "only the next period to come"
    );

    let (status, html) = get_page(&app, &officer, &figures_path(OPEN)).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("name=\"fig.participants.women\""), "{html}");
    assert!(html.contains("lang=\"sv\""));
    assert!(!html.contains("<script"), "no JavaScript");

    // Field-level Swedish errors, shown beside their inputs with the typed values; nothing kept.
    let before = app.agreement(REF).await.body;
    let mut bad = GOOD.to_vec();
    bad[1] = ("fig.participants.men", "tre");
    bad.push(("fig.participants_employed.total", "5"));
    let (status, _, html) = post_figures(&app, &officer, &csrf, OPEN, &bad).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("”tre” är inte ett tal"), "{html}");
    assert!(
        html.contains("value=\"tre\""),
        "the typed value is shown again"
    );
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    bad[1] = ("fig.participants.men", "3");
    let (status, _, html) = post_figures(&app, &officer, &csrf, OPEN, &bad).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("summerar inte till totalen 5"), "{html}");
    assert!(
        html.contains("id=\"e-participants_employed-total\""),
        "beside its input: {html}"
    );
    assert_eq!(app.agreement(REF).await.body, before, "nothing stored");

    // A figure far off the earlier periods asks for confirmation first.
    let mut far = GOOD.to_vec();
    far[0] = ("fig.participants.women", "30");
    far[1] = ("fig.participants.men", "30");
    let (status, _, html) = post_figures(&app, &officer, &csrf, OPEN, &far).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("name=\"confirmed\""),
        "asks to confirm: {html}"
    );
    assert!(
        html.contains("skiljer sig mycket från tidigare perioder"),
        "{html}"
    );
    assert_eq!(app.agreement(REF).await.body, before, "nothing stored");
    far.push(("confirmed", "1"));
    let (status, location, html) = post_figures(&app, &officer, &csrf, OPEN, &far).await;
    assert_eq!(status, 303, "{html}");
    assert!(location.contains("ok=report"), "{location}");
    let a = app.agreement(REF).await.body["agreement"].clone();
    let rec = record(&a, OPEN);
    assert_eq!(rec["state"], "submitted");
    assert_eq!(
        rec["figures"][0]["total"], 60,
        "the total is the sum of its parts"
    );
    assert_eq!(rec["figures"][1]["total"], 2);

    // A handed-in report's figures are corrected in place: the state and dates stay.
    let accepted_before = record(&a, ACCEPTED);
    let mut fixed = GOOD.to_vec();
    fixed[0] = ("fig.participants.women", "2");
    fixed[1] = ("fig.participants.men", "4");
    let (status, location, html) = post_figures(&app, &officer, &csrf, ACCEPTED, &fixed).await;
    assert_eq!(status, 303, "{html}");
    assert!(location.contains("ok=figures"), "{location}");
    let rec = record(&app.agreement(REF).await.body["agreement"], ACCEPTED);
    assert_eq!(rec["state"], "accepted");
    assert_eq!(rec["decided_on"], accepted_before["decided_on"]);
    assert_eq!(rec["figures"][0]["men"], 4);
    assert_eq!(rec["figures"][0]["total"], 6);
    let (_, html) = get_page(&app, &officer, &format!("/agreements/{REF}?ok=figures")).await;
    assert!(html.contains("De rättade siffrorna är sparade."), "{html}");

    // Both changes are logged as the officer, one entry each.
    let log = actions(&app).await;
    let me = &log[0].1;
    assert!(me.starts_with("user:"), "{log:?}");
    let mine: Vec<&str> = log
        .iter()
        .filter(|(_, actor)| actor == me)
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(
        mine,
        ["agreement.correct_figures", "agreement.submit_report"],
        "{log:?}"
    );

    // An officer of another organisation and an auditor may not; nothing changes.
    let before = app.agreement(REF).await.body;
    let (other, other_csrf) = login(
        &app,
        "olle@haninge.example",
        Role::Officer,
        Some("212900-0028"),
    )
    .await;
    let (status, _) = get_page(&app, &other, &figures_path(ACCEPTED)).await;
    assert_eq!(status, 403);
    let (status, _, _) = post_figures(&app, &other, &other_csrf, ACCEPTED, GOOD).await;
    assert_eq!(status, 403);
    let (auditor, auditor_csrf) = login(&app, "rut@revision.example", Role::Auditor, None).await;
    let (status, _) = get_page(&app, &auditor, &figures_path(ACCEPTED)).await;
    assert_eq!(status, 403);
    let (status, _, _) = post_figures(&app, &auditor, &auditor_csrf, ACCEPTED, GOOD).await;
    assert_eq!(status, 403);
    let (status, _) = get_page(
        &app,
        &officer,
        &format!("/agreements/{REF}/reports/{KIND}/2026-05-31/figures"),
    )
    .await;
    assert_eq!(status, 404, "no such occurrence");
    assert_eq!(app.agreement(REF).await.body, before, "nothing changed");
}

async fn an_enterprise_hands_in_figures_from_its_own_pages_and_reaches_only_its_own(app: TestApp) {
    app.load_examples().await;
    let (own, csrf) = login(
        &app,
        "leila@textil.example",
        Role::Enterprise,
        Some(PARTNER),
    )
    .await;
    let (status, html) = get_page(&app, &own, &format!("/agreements/{REF}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&figures_link(OPEN, "Lämna in siffror")),
        "{html}"
    );
    assert!(
        !html.contains(&figures_link(ACCEPTED, "Rätta siffrorna")),
        "an enterprise does not correct accepted figures"
    );

    // The form of the signed link, with a CSV file filling what is not typed.
    let (status, html) = get_page(&app, &own, &figures_path(OPEN)).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("name=\"figures_csv\""), "{html}");
    let csv = "indikator;kvinnor;män;annat;totalt\r\nparticipants;3;2;0;5\r\nparticipants_employed;1;0;0;1\r\nmoved_on_share;45;30;0;40\r\n";
    let (status, location, html) = post_figures(
        &app,
        &own,
        &csrf,
        OPEN,
        &[
            ("figures_csv", csv),
            ("fig.participants.women", "4"),
            ("fig.participants.total", ""),
        ],
    )
    .await;
    assert_eq!(
        status, 422,
        "typed 4 wins over the file's 3, and 4+2+0 is not 5: {html}"
    );
    assert!(html.contains("value=\"4\""), "{html}");
    let (status, location2, html) =
        post_figures(&app, &own, &csrf, OPEN, &[("figures_csv", csv)]).await;
    assert_eq!(status, 303, "{location} {html}");
    assert!(location2.contains("ok=report"), "{location2}");
    let rec = record(&app.agreement(REF).await.body["agreement"], OPEN);
    assert_eq!(rec["state"], "submitted");
    assert_eq!(rec["figures"][2]["women"], 45);
    let log = actions(&app).await;
    assert_eq!(log[0].0, "agreement.submit_report");
    assert!(log[0].1.starts_with("user:"), "{log:?}");

    // Handed in: no more changes from the enterprise, neither there nor on an accepted period.
    let (status, html) = get_page(&app, &own, &figures_path(OPEN)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Rapporten är inlämnad"), "{html}");
    assert!(!html.contains("name=\"fig.participants.women\""), "{html}");
    let before = app.agreement(REF).await.body;
    let (status, _, html) = post_figures(&app, &own, &csrf, ACCEPTED, GOOD).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(app.agreement(REF).await.body, before, "nothing changed");

    // Another organisation's enterprise user finds nothing there: 404 on page, form and API.
    let (stranger, stranger_csrf) =
        login(&app, "other@asf.example", Role::Enterprise, Some(STRANGER)).await;
    for path in [
        format!("/agreements/{REF}"),
        figures_path(OPEN),
        figures_path(ACCEPTED),
        format!("{}.csv", figures_path(ACCEPTED)),
    ] {
        let (status, _) = get_page(&app, &stranger, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _, _) = post_figures(&app, &stranger, &stranger_csrf, OPEN, GOOD).await;
    assert_eq!(status, 404);
    let (_, token) = crate::helpers::user_with_token(
        &app.registry,
        "api@asf.example",
        Role::Enterprise,
        Some(STRANGER),
    )
    .await;
    let api = crate::helpers::bearer_client(&token);
    let url = format!(
        "{}/api/v1/agreements/{REF}/reports/{KIND}/{OPEN}/figures",
        app.address
    );
    let r = api.get(&url).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 404);
    let r = api
        .post(&url)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(app.agreement(REF).await.body, before, "nothing changed");
}

fn api_path(period_end: &str) -> String {
    format!("/api/v1/agreements/{REF}/reports/{KIND}/{period_end}/figures")
}

fn error_of<'a>(body: &'a Value, rule: &str) -> &'a Value {
    body["errors"]
        .as_array()
        .and_then(|v| v.iter().find(|e| e["rule"] == rule))
        .unwrap_or_else(|| panic!("no {rule} in {body}"))
}

async fn figures_come_through_the_api_as_csv_and_refusals_name_row_column_value_and_rule(
    app: TestApp,
) {
    app.load_examples().await;

    // The template: the documented header, a row per indicator, filled once handed in.
    let r = app
        .client
        .get(format!("{}{}", app.address, api_path(ACCEPTED)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let template = r.text().await.unwrap_or_default();
    assert!(
        template.starts_with("\u{feff}indikator;kvinnor;män;annat;totalt\r\n"),
        "{template}"
    );
    assert!(template.contains("participants;2;3;0;5\r\n"), "{template}");
    assert!(
        template.contains("moved_on_share;20;33;0;25\r\n"),
        "{template}"
    );
    let open = app.get(&api_path(OPEN)).await;
    assert_eq!(open.status, 200);
    let open = open.body.as_str().unwrap_or_default().to_owned();
    assert!(open.contains("\r\nparticipants;;;;\r\n"), "{open}");

    let before = app.agreement(REF).await.body;
    let app = &app;
    let post = |csv: &str, query: &str| {
        let path = format!("{}{query}", api_path(OPEN));
        let body = csv.as_bytes().to_vec();
        async move { app.post_raw(&path, "text/csv; charset=utf-8", body).await }
    };
    // Row 2 is participants; each refusal names its row, column, value and rule.
    let bad = "indikator;kvinnor;män;annat;totalt\nparticipants;3;x;0;6\nparticipants_employed;1;1;0;5\nmoved_on_share;40;30;0;135\nvolunteer_hours;;;;3\n";
    let r = post(bad, "").await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = error_of(&r.body, "not_a_number");
    assert_eq!(e["field"], "csv.row[2].män");
    assert_eq!(e["value"], "x");
    let e = error_of(&r.body, "indicator_not_in_report");
    assert_eq!(e["field"], "csv.row[5].indikator");
    assert_eq!(e["value"], "volunteer_hours");
    let fixed = bad
        .replace(";x;", ";3;")
        .replace("volunteer_hours;;;;3\n", "");
    let r = post(&fixed, "").await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = error_of(&r.body, "breakdown_sums_to_total");
    assert_eq!(e["field"], "csv.row[3].totalt");
    assert_eq!(e["value"], "5");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("row 3, column totalt:"),
        "{e}"
    );
    let e = error_of(&r.body, "share_0_100");
    assert_eq!(e["field"], "csv.row[4].totalt");
    assert_eq!(e["value"], "135");
    for (csv, rule) in [
        ("namn;x\nparticipants;1\n", "figures_csv"),
        (
            "indikator;kvinnor;män;annat;totalt\nnot an id;1;1;1;3\n",
            "figures_csv",
        ),
        ("", "figures_csv"),
    ] {
        let r = post(csv, "").await;
        assert_eq!(r.status, 422, "{csv}: {}", r.body);
        assert_eq!(r.body["rule"], rule, "{csv}");
    }
    let r = app
        .post_raw(&api_path(OPEN), "text/csv", vec![0xff, 0xfe, 0x00])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["rule"], "utf8");
    let r = app
        .post_raw(&api_path(OPEN), "application/xml", b"<x/>".to_vec())
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Far off the earlier periods: refused until confirmed.
    let far = "indikator;kvinnor;män;annat;totalt\nparticipants;30;30;0;60\nparticipants_employed;1;1;0;2\nmoved_on_share;40;30;0;35\n";
    let r = post(far, "").await;
    assert_eq!(r.status, 422, "{}", r.body);
    let e = error_of(&r.body, "unusual_value");
    assert_eq!(e["field"], "csv.row[2].totalt");
    assert_eq!(app.agreement(REF).await.body, before, "nothing stored");
    let r = post(far, "?confirmed=true").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["done"], "submitted");
    assert_eq!(r.body["state"], "submitted");
    assert_eq!(r.body["figures"][0]["total"], 60);

    // JSON corrects an accepted report's figures; the state stays.
    let r = app
        .post(
            &api_path(ACCEPTED),
            &json!({"figures": [
                {"indicator": "participants", "total": 6, "women": 3, "men": 3, "other": 0},
                {"indicator": "participants_employed", "total": 1, "women": 0, "men": 1, "other": 0},
                {"indicator": "moved_on_share", "total": 25, "women": 20, "men": 33, "other": 0},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["done"], "corrected");
    assert_eq!(r.body["state"], "accepted");
    let rec = record(&app.agreement(REF).await.body["agreement"], ACCEPTED);
    assert_eq!(rec["figures"][0]["total"], 6);
    let log = actions(app).await;
    assert_eq!(log[0].0, "agreement.correct_figures");
    assert_eq!(log[1].0, "agreement.submit_report");
}

crate::on_both_backends!(
    an_officer_enters_and_corrects_figures_on_the_pages_in_swedish,
    an_enterprise_hands_in_figures_from_its_own_pages_and_reaches_only_its_own,
    figures_come_through_the_api_as_csv_and_refusals_name_row_column_value_and_rule,
);
