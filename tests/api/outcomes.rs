//! Social outcomes: targets in the agreement, figures in a report through the API and the signed
//! link, every validation rule with its field, rejected figures kept but not counted, progress
//! against target on the agreement page, and OCDS metrics.

use avtal::domain::agreement::Reference;
use avtal::links::token::{LinkClaims, Purpose};
use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};

use crate::helpers::{TestApp, sample_today};

const REF: &str = "AGR-2025-0001";
const KIND: &str = "participant_statistics";
/// The open half-year of the sample (the three before are accepted).
const OPEN: &str = "2026-12-31";

fn d(s: &str) -> NaiveDate {
    avtal::domain::dates::parse_iso_date(s).unwrap_or_else(|e| panic!("{e}"))
}

fn fig(ind: &str, total: Value, w: Value, m: Value, o: Value) -> Value {
    json!({"indicator": ind, "total": total, "women": w, "men": m, "other": o})
}

fn good_figures() -> Value {
    json!([
        fig("participants", json!(6), json!(3), json!(3), json!(0)),
        fig(
            "participants_employed",
            json!(2),
            json!(1),
            json!(1),
            json!(0)
        ),
        fig("moved_on_share", json!(35), json!(40), json!(30), json!(0)),
    ])
}

async fn act(app: &TestApp, action: &str, body: Value) -> crate::helpers::Reply {
    app.post(&format!("/api/v1/agreements/{REF}/{action}"), &body)
        .await
}

fn record<'a>(agreement: &'a Value, period_end: &str) -> Option<&'a Value> {
    agreement["reporting"][0]["occurrences"]
        .as_array()
        .and_then(|v| v.iter().find(|o| o["period_end"] == period_end))
}

async fn the_sample_carries_targets_and_accepted_figures_shown_against_target(app: TestApp) {
    app.load_examples().await;
    let a = app.agreement(REF).await.body["agreement"].clone();
    assert_eq!(
        a["iop"]["goals"][0]["targets"][0],
        json!({"indicator": "participants", "value": 12, "direction": "at_least", "per": "year"})
    );
    assert_eq!(
        a["reporting"][0]["indicators"],
        json!(["participants", "participants_employed", "moved_on_share"])
    );
    let page = app
        .client_for(avtal::domain::access::Role::Officer)
        .await
        .get(format!("{}/agreements/{REF}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("Resultat mot mål"), "no outcomes section");
    assert!(html.contains("<svg class=\"chart\""), "no chart");
    // 2025: 7 + 6 = 13 new participants, 7 women (4 + 3), 5 men, 1 other.
    assert!(
        html.contains("<th scope=\"row\">2025</th><td>7</td><td>5</td><td>1</td><td>13</td>"),
        "{html}"
    );
    // 2026 so far: 5 by the end of June, half of 12 would be 6: behind.
    assert!(html.contains("Efter målet"), "no verdict behind");
    // The unit agrees with the number: 5 participants, 1 employed.
    assert!(html.contains("(nu 5 personer)</figcaption>"), "{html}");
    assert!(html.contains("(nu 1 person)</figcaption>"), "{html}");
}

async fn figures_through_the_api_are_checked_field_by_field_and_change_nothing_when_refused(
    app: TestApp,
) {
    app.load_examples().await;
    let before = app.agreement(REF).await.body;
    let cases = [
        (
            "half a person",
            json!([
                fig("participants", json!(6.5), json!(3), json!(3.5), json!(0)),
                fig(
                    "participants_employed",
                    json!(2),
                    json!(1),
                    json!(1),
                    json!(0)
                ),
                fig("moved_on_share", json!(35), json!(40), json!(30), json!(0))
            ]),
            "figures.participants.total",
            "whole_people",
        ),
        (
            "breakdown off its total",
            json!([
                fig("participants", json!(7), json!(3), json!(3), json!(0)),
                fig(
                    "participants_employed",
                    json!(2),
                    json!(1),
                    json!(1),
                    json!(0)
                ),
                fig("moved_on_share", json!(35), json!(40), json!(30), json!(0))
            ]),
            "figures.participants.total",
            "breakdown_sums_to_total",
        ),
        (
            "share above 100",
            json!([
                fig("participants", json!(6), json!(3), json!(3), json!(0)),
                fig(
                    "participants_employed",
                    json!(2),
                    json!(1),
                    json!(1),
                    json!(0)
                ),
                fig("moved_on_share", json!(135), json!(40), json!(30), json!(0))
            ]),
            "figures.moved_on_share.total",
            "share_0_100",
        ),
        (
            "missing gender part",
            json!([{"indicator": "participants", "total": 6, "women": 3, "men": 3}, fig("participants_employed", json!(2), json!(1), json!(1), json!(0)), fig("moved_on_share", json!(35), json!(40), json!(30), json!(0))]),
            "figures.participants.other",
            "gender_breakdown_required",
        ),
        (
            "missing indicator",
            json!([
                fig("participants", json!(6), json!(3), json!(3), json!(0)),
                fig("moved_on_share", json!(35), json!(40), json!(30), json!(0))
            ]),
            "figures.participants_employed.total",
            "figure_required",
        ),
        (
            "indicator the report does not carry",
            json!([
                fig("participants", json!(6), json!(3), json!(3), json!(0)),
                fig(
                    "participants_employed",
                    json!(2),
                    json!(1),
                    json!(1),
                    json!(0)
                ),
                fig("moved_on_share", json!(35), json!(40), json!(30), json!(0)),
                fig("EECO01", json!(6), json!(3), json!(3), json!(0))
            ]),
            "figures.EECO01.indicator",
            "indicator_not_in_report",
        ),
        (
            "far off the earlier periods",
            json!([
                fig("participants", json!(60), json!(30), json!(30), json!(0)),
                fig(
                    "participants_employed",
                    json!(2),
                    json!(1),
                    json!(1),
                    json!(0)
                ),
                fig("moved_on_share", json!(35), json!(40), json!(30), json!(0))
            ]),
            "figures.participants.total",
            "unusual_value",
        ),
    ];
    for (name, figures, field, rule) in cases {
        let r = act(
            &app,
            "submit-report",
            json!({"report": KIND, "period_end": OPEN, "figures": figures}),
        )
        .await;
        assert_eq!(r.status, 422, "{name}: {}", r.body);
        let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["rule"] == rule),
            "{name}: expected {rule} at {field}, got {}",
            r.body
        );
    }
    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": OPEN}),
    )
    .await;
    assert_eq!(r.status, 422, "a report with indicators needs its figures");
    assert_eq!(
        app.agreement(REF).await.body,
        before,
        "a refusal changes nothing"
    );

    // Far off but confirmed: taken.
    let confirmed = json!([
        fig("participants", json!(60), json!(30), json!(30), json!(0)),
        fig(
            "participants_employed",
            json!(2),
            json!(1),
            json!(1),
            json!(0)
        ),
        fig("moved_on_share", json!(35), json!(40), json!(30), json!(0))
    ]);
    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": OPEN, "figures": confirmed, "confirmed": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn rejected_figures_are_kept_but_not_counted_and_accepted_ones_count(app: TestApp) {
    app.load_examples().await;
    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": OPEN, "figures": good_figures()}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = record(&r.body["agreement"], OPEN)
        .cloned()
        .unwrap_or_default();
    assert_eq!(rec["state"], "submitted");
    assert_eq!(rec["figures"][0]["total"], 6);

    let r = act(
        &app,
        "reject-report",
        json!({"report": KIND, "period_end": OPEN, "reason": "Andelen stämmer inte"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ocds = app.get(&format!("/api/v1/ocds/releases/{REF}")).await;
    let text = ocds.body.to_string();
    assert!(
        !text.contains(&format!("participants-{OPEN}-total")),
        "a rejected report's figures are not published"
    );

    // Handed in again: the rejected figures move to the history, the new ones count once accepted.
    let mut again = good_figures();
    again[0] = fig("participants", json!(7), json!(4), json!(3), json!(0));
    let r = act(
        &app,
        "submit-report",
        json!({"report": KIND, "period_end": OPEN, "figures": again}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = record(&r.body["agreement"], OPEN)
        .cloned()
        .unwrap_or_default();
    assert_eq!(rec["rejected_figures"][0]["figures"][0]["total"], 6);
    assert_eq!(rec["rejected_figures"][0]["reason"], "Andelen stämmer inte");
    let r = act(
        &app,
        "accept-report",
        json!({"report": KIND, "period_end": OPEN}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ocds = app.get(&format!("/api/v1/ocds/releases/{REF}")).await;
    assert!(
        ocds.body
            .to_string()
            .contains(&format!("participants-{OPEN}-total")),
        "accepted figures are published: {}",
        ocds.body
    );
    // The audit log has the submission with its figures.
    let log = app.get(&format!("/api/v1/audit?agreement={REF}")).await;
    assert!(
        log.body.to_string().contains("agreement.submit_report"),
        "{}",
        log.body
    );
}

fn sign(app: &TestApp, period_end: &str) -> String {
    let key = app
        .registry
        .link_key()
        .unwrap_or_else(|e| panic!("link key: {e}"));
    let claims = LinkClaims {
        reference: Reference::parse(REF).unwrap_or_else(|e| panic!("{e}")),
        report: KIND.into(),
        period_end: d(period_end),
        purpose: Purpose::Report,
        expires: sample_today() + Duration::days(30),
    };
    format!("{}/l/{}", app.address, key.sign(&claims))
}

async fn post_form(link: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let boundary = "----avtal-outcomes-boundary-Q8sLk2";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = reqwest::Client::new()
        .post(format!("{link}/report"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

async fn an_enterprise_hands_in_figures_through_the_signed_link_in_swedish(app: TestApp) {
    app.load_examples().await;
    let link = sign(&app, OPEN);
    let page = reqwest::get(&link).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("name=\"fig.participants.women\""), "{html}");
    assert!(html.contains("Andel som gått vidare till arbete eller studier"));
    assert!(!html.contains("<script"), "no JavaScript");

    let before = app.agreement(REF).await.body;
    let mut bad = vec![
        ("fig.participants.women", "3"),
        ("fig.participants.men", "tre"),
        ("fig.participants.other", "0"),
        ("fig.participants_employed.women", "1"),
        ("fig.participants_employed.men", "1"),
        ("fig.participants_employed.other", "0"),
        ("fig.participants_employed.total", "5"),
        ("fig.moved_on_share.total", "35"),
        ("fig.moved_on_share.women", "40"),
        ("fig.moved_on_share.men", "30"),
        ("fig.moved_on_share.other", "0"),
    ];
    let (status, html) = post_form(&link, &bad).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("”tre” är inte ett tal"), "{html}");
    assert!(
        html.contains("value=\"tre\""),
        "the typed value is shown again"
    );
    assert_eq!(app.agreement(REF).await.body, before, "nothing stored");

    bad[1] = ("fig.participants.men", "3");
    let (status, html) = post_form(&link, &bad).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("summerar inte till totalen 5"), "{html}");

    bad[6] = ("fig.participants_employed.total", "");
    bad.push(("fig.participants.total", "60"));
    bad[0] = ("fig.participants.women", "30");
    bad[1] = ("fig.participants.men", "30");
    let (status, html) = post_form(&link, &bad).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("name=\"confirmed\""),
        "asks to confirm: {html}"
    );
    bad.push(("confirmed", "1"));
    let (status, html) = post_form(&link, &bad).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Tack!"));
    let a = app.agreement(REF).await.body["agreement"].clone();
    let rec = record(&a, OPEN).cloned().unwrap_or_default();
    assert_eq!(rec["state"], "submitted");
    assert_eq!(
        rec["figures"][1]["total"], 2,
        "a blank total is the sum of its parts"
    );
}

async fn targets_travel_through_the_yaml_export_and_unknown_indicators_are_refused(app: TestApp) {
    app.load_examples().await;
    let body = app.agreement(REF).await.body;
    let mut a = body["agreement"].clone();
    let version = body["version"].clone();
    a["iop"]["goals"][0]["targets"][0]["indicator"] = json!("no_such_indicator");
    let r = app
        .put(
            &format!("/api/v1/agreements/{REF}"),
            &json!({"version": version, "agreement": a}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["field"] == "iop.goals[0].targets[0].indicator"
                && e["rule"] == "unknown_indicator")),
        "{}",
        r.body
    );
    let export = app
        .client_for(avtal::domain::access::Role::Officer)
        .await
        .get(format!("{}/api/v1/export?format=yaml", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = export.text().await.unwrap_or_default();
    assert!(
        text.contains("indicator: participants") || text.contains("indicator: \"participants\""),
        "{}",
        &text[..text.len().min(2000)]
    );
}

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let r = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

async fn the_follow_up_sums_accepted_figures_by_group_year_and_gender_and_leaves_out_rejected_ones(
    app: TestApp,
) {
    app.load_examples().await;
    let officer = app.client_for(avtal::domain::access::Role::Officer).await;
    let base = format!("{}/outcomes", app.address);
    let (status, html) = page(
        &officer,
        format!("{base}?group=buyer&indicator=participants"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<svg class=\"chart\""), "no chart");
    // 2025: 7 + 6 over the two half-years; 2026: 5 so far.
    assert!(
        html.contains("<td>2025</td><td>7</td><td>5</td><td>1</td><td>13</td><td>1</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td>2026</td><td>2</td><td>3</td><td>0</td><td>5</td><td>1</td>"),
        "{html}"
    );

    // Handed in and rejected: not counted. Handed in again and accepted: counted.
    let submit = json!({"report": KIND, "period_end": OPEN, "figures": good_figures()});
    assert_eq!(act(&app, "submit-report", submit.clone()).await.status, 200);
    let reject = json!({"report": KIND, "period_end": OPEN, "reason": "Fel period"});
    assert_eq!(act(&app, "reject-report", reject).await.status, 200);
    // The partner's agreements only (other samples report participants too).
    let csv_url =
        format!("{base}?group=none&indicator=participants&year=2026&party=769990-0010&format=csv");
    let (status, csv) = page(&officer, csv_url.clone()).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
    assert!(csv.contains(";participants;Nya deltagare i arbetsträning, praktik eller sysselsättning;2026;totalt;5;1"), "{csv}");
    assert_eq!(act(&app, "submit-report", submit).await.status, 200);
    let accept = json!({"report": KIND, "period_end": OPEN});
    assert_eq!(act(&app, "accept-report", accept).await.status, 200);
    let (_, csv) = page(&officer, csv_url).await;
    assert!(
        csv.contains(";2026;totalt;11;1"),
        "5 + 6 once accepted: {csv}"
    );
    assert!(csv.contains(";2026;kvinnor;5;1"), "2 + 3 women: {csv}");
    // A share averages: (33 + 38) / 2 in 2025.
    let (_, csv) = page(
        &officer,
        format!(
            "{base}?group=none&indicator=moved_on_share&year=2025&party=769990-0010&format=csv"
        ),
    )
    .await;
    assert!(csv.contains(";2025;totalt;35,5;1"), "{csv}");
}

async fn an_enterprise_sees_only_its_own_figures_in_the_follow_up(app: TestApp) {
    app.load_examples().await;
    app.create_user(
        "leila@textil.example",
        avtal::domain::access::Role::Enterprise,
        Some("769990-0010"),
        "ett bra lösenord",
    )
    .await;
    app.create_user(
        "other@asf.example",
        avtal::domain::access::Role::Enterprise,
        Some("769990-0051"),
        "ett bra lösenord",
    )
    .await;
    let (own, _) = app
        .browser_login("leila@textil.example", "ett bra lösenord")
        .await;
    let (other, _) = app
        .browser_login("other@asf.example", "ett bra lösenord")
        .await;
    let url = format!(
        "{}/outcomes?group=partner&indicator=participants",
        app.address
    );
    let (status, html) = page(&own, url.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<td>2025</td><td>7</td><td>5</td><td>1</td><td>13</td>"),
        "its own agreement: {html}"
    );
    let (status, html) = page(&other, url).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        !html.contains("<td>13</td>"),
        "another organisation's figures: {html}"
    );
    assert!(html.contains("Inga godkända siffror"), "{html}");
    let (status, _) = page(
        &other,
        format!("{}/outcomes?party=769990-0010", app.address),
    )
    .await;
    assert_eq!(
        status, 403,
        "asking for another organisation's agreements is refused"
    );
}

async fn the_ocds_release_carries_targets_and_accepted_figures_as_metrics_and_passes_the_validator(
    app: TestApp,
) {
    app.load_examples().await;
    let r = app.get(&format!("/api/v1/ocds/releases/{REF}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ext = r.body["extensions"].to_string();
    assert!(ext.contains("ocds_metrics_extension"), "{ext}");
    let contract = &r.body["releases"][0]["contracts"][0];
    let agreed = contract["agreedMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(agreed.len(), 3, "{contract}");
    assert_eq!(agreed[0]["observations"][0]["measure"], 12.0);
    assert_eq!(
        agreed[0]["observations"][0]["dimensions"]["indicatorCode"],
        "participants"
    );
    assert_eq!(agreed[0]["observations"][0]["unit"]["name"], "personer");
    let metrics = contract["implementation"]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let participants = metrics
        .iter()
        .find(|m| m["id"] == "participants")
        .unwrap_or_else(|| panic!("{contract}"));
    let obs = participants["observations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(obs.len(), 12, "3 accepted periods x 4 parts");
    let women = obs
        .iter()
        .find(|o| o["id"] == "participants-2025-06-30-women")
        .unwrap_or_else(|| panic!("{participants}"));
    assert_eq!(women["measure"], 4.0);
    assert_eq!(
        women["dimensions"],
        json!({"indicatorCode": "participants", "gender": "women"})
    );
    crate::ocds::assert_valid(&r.body).await;
}

/// Every grouping of the follow-up, read from the running totals (no list filter) and summed from
/// the index (a filter every agreement matches), sorted the same way.
async fn both_ways(app: &TestApp) -> Vec<(String, usize)> {
    use avtal::domain::codes::PartyRole;
    use avtal::registry::AgreementFilter;
    use avtal::registry::outcomes::{FollowUpFilter, GroupBy};
    let everything = AgreementFilter {
        ends_before: Some(d("9999-12-31")),
        ..AgreementFilter::default()
    };
    let mut seen = Vec::new();
    for group in [
        GroupBy::None,
        GroupBy::Objective,
        GroupBy::Party(PartyRole::Buyer),
        GroupBy::Party(PartyRole::Supplier),
        GroupBy::Party(PartyRole::IopPartner),
    ] {
        let totals = app
            .registry
            .follow_up(
                &AgreementFilter::default(),
                &FollowUpFilter::default(),
                group,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let summed = app
            .registry
            .follow_up(&everything, &FollowUpFilter::default(), group)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            totals, summed,
            "{group:?}: the running totals differ from the index"
        );
        seen.push((format!("{group:?}"), totals.len()));
    }
    seen
}

async fn the_running_totals_follow_every_write_and_match_summing_the_index(app: TestApp) {
    app.load_examples().await;
    let before = both_ways(&app).await;
    assert!(
        before.iter().any(|(g, n)| g == "None" && *n > 0),
        "the samples have figures: {before:?}"
    );

    // A report handed in and accepted: its figures count.
    let submit = json!({"report": KIND, "period_end": OPEN, "figures": good_figures()});
    assert_eq!(act(&app, "submit-report", submit).await.status, 200);
    let accept = json!({"report": KIND, "period_end": OPEN});
    assert_eq!(act(&app, "accept-report", accept).await.status, 200);
    both_ways(&app).await;

    // A new agreement with the same figures (the insert path), then edited: another social
    // objective, one figure changed, and its partner replaced by another organisation.
    let mut copy = app.agreement(REF).await.body["agreement"].clone();
    copy["reference"] = json!("AGR-2099-0001");
    let r = app.post("/api/v1/agreements", &copy).await;
    assert_eq!(r.status, 201, "{}", r.body);
    both_ways(&app).await;
    let mut edited = r.body["agreement"].clone();
    let version = r.body["version"].clone();
    edited["eforms"]["bt_775"] = json!(["opp", "gen-eq"]);
    edited["reporting"][0]["occurrences"][0]["figures"][0] =
        fig("participants", json!(9), json!(5), json!(4), json!(0));
    let r = app
        .put(
            "/api/v1/agreements/AGR-2099-0001",
            &json!({"version": version, "agreement": edited}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = both_ways(&app).await;
    assert_ne!(before, after, "the new agreement and objective show");

    // Emptied and filled again from the index (a database from before the totals).
    use sea_orm::ConnectionTrait;
    app.registry
        .db
        .execute_unprepared("DELETE FROM outcome_total")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let filled = avtal::db::outcomes::fill_totals_if_missing(&app.registry.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(filled);
    assert_eq!(both_ways(&app).await, after);
}

crate::on_both_backends!(
    the_sample_carries_targets_and_accepted_figures_shown_against_target,
    figures_through_the_api_are_checked_field_by_field_and_change_nothing_when_refused,
    rejected_figures_are_kept_but_not_counted_and_accepted_ones_count,
    an_enterprise_hands_in_figures_through_the_signed_link_in_swedish,
    targets_travel_through_the_yaml_export_and_unknown_indicators_are_refused,
    the_follow_up_sums_accepted_figures_by_group_year_and_gender_and_leaves_out_rejected_ones,
    an_enterprise_sees_only_its_own_figures_in_the_follow_up,
    the_ocds_release_carries_targets_and_accepted_figures_as_metrics_and_passes_the_validator,
    the_running_totals_follow_every_write_and_match_summing_the_index,
);
