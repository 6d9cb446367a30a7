//! The agreement's clock: tacit renewals take effect in storage (import, save, the daily sweep,
//! two sweeps at once), a notice of non-renewal stops them, and every view of an agreement's
//! dates agrees with `domain::clock::state_on` on every sample and days around its deadlines.

use std::collections::{BTreeSet, HashMap};

use avtal::db::entities::audit_log;
use avtal::db::store::{self, AgreementFilter, SortKey};
use avtal::domain::agreement::{Agreement, Reference};
use avtal::domain::clock::state_on;
use avtal::domain::deadlines::{DeadlineKind, deadlines};
use avtal::registry::export::{self, ExportOptions, Format, Sink};
use avtal::registry::renewals;
use avtal::web::api::Derived;
use chrono::{Duration, NaiveDate};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn d(s: &str) -> NaiveDate {
    avtal::domain::dates::parse_iso_date(s).unwrap_or_else(|e| panic!("{e}"))
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

async fn stored(app: &TestApp, r: &str) -> store::Stored<Agreement> {
    store::get_agreement(&app.registry.db, &reference(r))
        .await
        .unwrap_or_else(|e| panic!("{r}: {e}"))
}

/// The `agreement.renew` entries of one agreement, oldest first.
async fn renew_entries(app: &TestApp, r: &str) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Agreement.eq(r))
        .filter(audit_log::Column::Action.eq("agreement.renew"))
        .order_by_asc(audit_log::Column::Id)
        .all(&app.registry.db)
        .await
        .unwrap_or_else(|e| panic!("read the log: {e}"))
}

fn doc(text: &Option<String>) -> Value {
    text.as_deref()
        .map(|t| serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}: {t}")))
        .unwrap_or(Value::Null)
}

async fn chain_holds(app: &TestApp) {
    let v = avtal::db::audit::verify(&app.registry.db)
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"));
    assert!(v.intact, "{v}");
}

async fn listed(app: &TestApp, query: &str) -> BTreeSet<String> {
    let r = app
        .get(&format!("/api/v1/agreements?limit=200&{query}"))
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    crate::helpers::references(&r.body).into_iter().collect()
}

async fn an_agreement_imported_late_renews_once_per_missed_deadline(app: TestApp) {
    app.load_examples().await;

    // Given as first agreed (2025-01-01 - 2025-12-31, 12 months unless notice 3 months before).
    let s = stored(&app, "AGR-2025-0014").await;
    assert_eq!(s.data.period.current_end, d("2027-12-31"));
    let r = s
        .data
        .tacit_renewal
        .clone()
        .unwrap_or_else(|| panic!("terms"));
    assert_eq!(r.renewals_done, 2);

    let log = renew_entries(&app, "AGR-2025-0014").await;
    assert_eq!(log.len(), 2, "one entry per renewal");
    for (e, (old, new, took)) in log.iter().zip([
        ("2025-12-31", "2026-12-31", "2025-10-01"),
        ("2026-12-31", "2027-12-31", "2026-10-01"),
    ]) {
        assert_eq!(e.actor, "system");
        let (before, after) = (doc(&e.before), doc(&e.after));
        assert_eq!(before["period"]["current_end"], old);
        assert_eq!(after["period"]["current_end"], new);
        let n = after["tacit_renewal"]["renewals_done"]
            .as_u64()
            .unwrap_or(0) as usize;
        assert_eq!(
            after["tacit_renewal"]["renewals"][n - 1]["took_effect_on"],
            took
        );
    }
    chain_holds(&app).await;

    // Every view says the same on the samples' today.
    let r = app.agreement("AGR-2025-0014").await;
    assert_eq!(r.body["derived"]["active"], true, "{}", r.body["derived"]);
    assert_eq!(r.body["derived"]["current_end"], "2027-12-31");
    assert_eq!(r.body["derived"]["renewals_done"], 2);
    assert_eq!(r.body["derived"]["renewal_notice_deadline"], "2027-09-30");
    assert!(
        listed(&app, "active_on=2026-11-22")
            .await
            .contains("AGR-2025-0014")
    );
    assert!(
        !listed(&app, "ends_before=2027-06-01")
            .await
            .contains("AGR-2025-0014")
    );
}

async fn importing_again_and_sweeping_twice_never_renews_twice(app: TestApp) {
    app.load_examples().await;
    let version = stored(&app, "AGR-2025-0014").await.version;
    app.load_examples().await;
    let day = d("2026-11-22");
    let (a, b) = tokio::join!(
        renewals::apply_due(&app.registry.db, day),
        renewals::apply_due(&app.registry.db, day)
    );
    for s in [a, b] {
        let s = s.unwrap_or_else(|e| panic!("sweep: {e}"));
        assert_eq!(s.renewed, 0, "{s:?}");
    }
    assert_eq!(stored(&app, "AGR-2025-0014").await.version, version);
    assert_eq!(renew_entries(&app, "AGR-2025-0014").await.len(), 2);
}

async fn the_daily_sweep_stores_a_renewal_the_day_after_its_deadline_once(app: TestApp) {
    app.load_examples().await;
    // AGR-2026-0009 runs to 2027-12-31; notice deadline 2027-09-30.
    let before = stored(&app, "AGR-2026-0009").await;
    assert_eq!(before.data.period.current_end, d("2027-12-31"));
    let on_deadline = renewals::apply_due(&app.registry.db, d("2027-09-30"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(on_deadline.renewed, 0);
    assert_eq!(
        stored(&app, "AGR-2026-0009").await.data.period.current_end,
        d("2027-12-31")
    );

    // Two instances sweep the next day at once: one renewal, one audit entry.
    let day = d("2027-10-01");
    let (x, y) = tokio::join!(
        renewals::apply_due(&app.registry.db, day),
        renewals::apply_due(&app.registry.db, day)
    );
    let renewed: u64 = [x, y]
        .into_iter()
        .map(|s| s.unwrap_or_else(|e| panic!("{e}")).renewed)
        .sum();
    assert!(renewed >= 1, "the sweeps renewed {renewed}");
    let after = stored(&app, "AGR-2026-0009").await;
    assert_eq!(after.data.period.current_end, d("2028-12-31"));
    assert_eq!(
        after.data.tacit_renewal.map(|r| r.renewals_done),
        Some(2),
        "renewed once more"
    );
    assert_eq!(after.version, before.version + 1);
    let log = renew_entries(&app, "AGR-2026-0009").await;
    assert_eq!(log.len(), 1, "one entry for one renewal");
    assert_eq!(doc(&log[0].before)["period"]["current_end"], "2027-12-31");
    assert_eq!(doc(&log[0].after)["period"]["current_end"], "2028-12-31");

    // The daily run of `avtal notify` and `serve` does it too, before its reminder sweep.
    let settings = &app.registry.settings;
    let composer = avtal::notify::Composer::new(settings).unwrap_or_else(|e| panic!("{e}"));
    let mailer =
        avtal::notify::mailer::Mailer::from_settings(settings).unwrap_or_else(|e| panic!("{e}"));
    let later = d("2028-10-01");
    app.registry
        .run_reminders(&composer, &mailer, later, chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stored(&app, "AGR-2026-0009").await.data.period.current_end,
        d("2029-12-31")
    );
    assert_eq!(renew_entries(&app, "AGR-2026-0009").await.len(), 2);
    chain_holds(&app).await;
}

async fn saving_an_agreement_applies_its_due_renewals_with_one_entry_each(app: TestApp) {
    app.load_examples().await;
    let r = app.agreement("AGR-2026-0002").await;
    let mut a = r.body["agreement"].clone();
    a["reference"] = json!("AGR-2023-0100");
    a["period"] =
        json!({"start": "2023-01-01", "original_end": "2023-12-31", "current_end": "2023-12-31"});
    a["tacit_renewal"] = json!({"months": 12, "notice_months": 3});
    a["reporting"] = json!([]);
    let r = app.post("/api/v1/agreements", &a).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["agreement"]["period"]["current_end"], "2027-12-31");
    assert_eq!(r.body["agreement"]["tacit_renewal"]["renewals_done"], 4);
    assert_eq!(renew_entries(&app, "AGR-2023-0100").await.len(), 4);

    // Saving it again as it stands adds no renewal.
    let mut again = r.body["agreement"].clone();
    again["title"] = json!("Ny titel");
    let r = app
        .put(
            "/api/v1/agreements/AGR-2023-0100",
            &json!({"version": r.body["version"], "data": again}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agreement"]["tacit_renewal"]["renewals_done"], 4);
    assert_eq!(renew_entries(&app, "AGR-2023-0100").await.len(), 4);
    chain_holds(&app).await;
}

async fn a_notice_of_non_renewal_on_time_ends_the_current_term(app: TestApp) {
    app.load_examples().await;
    // AGR-2025-0014 has no termination terms; the renewal clause's notice is enough. Received
    // 2026-09-15, before the deadline 2026-09-30: the renewal to 2027 never happens.
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0014/notice",
            &json!({"by": "802990-0035", "received_on": "2026-09-15"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = &r.body["agreement"];
    assert_eq!(a["status"], "notice_given");
    assert_eq!(a["period"]["current_end"], "2026-12-31");
    assert_eq!(a["tacit_renewal"]["renewals_done"], 1);
    assert_eq!(a["tacit_renewal"]["notice"]["effective_end"], "2026-12-31");
    let dv = &r.body["derived"];
    assert_eq!(dv["renewal_notice_deadline"], Value::Null);
    assert_eq!(dv["current_end"], "2026-12-31");
    // The year's report is the final one and stays due after the end.
    let finals: Vec<&Value> = dv["deadlines"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|x| x["report"]["final_report"] == true)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(finals.len(), 1, "{dv}");
    assert_eq!(finals[0]["report"]["period_end"], "2026-12-31");
    assert_eq!(finals[0]["date"], "2027-03-31");
    assert!(
        listed(&app, "ends_before=2027-01-01")
            .await
            .contains("AGR-2025-0014")
    );
    chain_holds(&app).await;
}

async fn a_late_notice_of_non_renewal_ends_the_term_the_renewal_started(app: TestApp) {
    app.load_examples().await;
    // Received 2026-10-20, after the deadline 2026-09-30, by the buyer: ends 2027-12-31.
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0014/notice",
            &json!({"by": "212900-0077", "received_on": "2026-10-20", "reason": "Ny inriktning"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agreement"]["period"]["current_end"], "2027-12-31");
    assert_eq!(r.body["agreement"]["tacit_renewal"]["renewals_done"], 2);
    assert_eq!(r.body["derived"]["active"], true);
    assert_eq!(r.body["derived"]["renewal_notice_deadline"], Value::Null);
    // No renewal can come any more: the sweep a year later leaves it.
    renewals::apply_due(&app.registry.db, d("2027-10-01"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(renew_entries(&app, "AGR-2025-0014").await.len(), 2);
    assert_eq!(
        stored(&app, "AGR-2025-0014").await.data.period.current_end,
        d("2027-12-31")
    );
}

async fn the_notice_sample_ended_at_its_term_and_keeps_its_final_report(app: TestApp) {
    app.load_examples().await;
    let r = app.agreement("AGR-2024-0015").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let dv = &r.body["derived"];
    assert_eq!(dv["active"], false);
    assert_eq!(dv["current_end"], "2026-06-30");
    assert_eq!(dv["renewal_notice_deadline"], Value::Null);
    let last = dv["deadlines"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["report"]["final_report"] == true))
        .cloned()
        .unwrap_or_else(|| panic!("no final report in {dv}"));
    assert_eq!(last["report"]["period_end"], "2026-06-30");
    assert_eq!(last["date"], "2026-09-28");
    assert!(renew_entries(&app, "AGR-2024-0015").await.is_empty());
    assert!(
        !listed(&app, "active_on=2026-11-22")
            .await
            .contains("AGR-2024-0015")
    );
}

/// The days around every deadline of every sample: the day before, on and after each renewal
/// notice deadline, option decide-by date, termination notice deadline and end.
fn days_around(list: &[Agreement], today: NaiveDate) -> BTreeSet<NaiveDate> {
    let mut days = BTreeSet::from([today]);
    for a in list {
        let s = state_on(a, today);
        let mut dates: Vec<NaiveDate> = vec![s.term_end];
        dates.extend(s.renewal_notice_deadline);
        dates.extend(s.termination_notice_deadline);
        dates.extend(s.options.iter().filter_map(|o| o.decide_by));
        for x in dates {
            for k in -1..=1 {
                let day = x + Duration::days(k);
                if day >= today {
                    days.insert(day);
                }
            }
        }
    }
    days
}

/// The listed agreements with their stored end, sorted by end.
async fn list_ends(app: &TestApp, f: AgreementFilter) -> Vec<(String, NaiveDate)> {
    store::list_agreements(&app.registry.db, &f, SortKey::End, false, 1, 200)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .items
        .into_iter()
        .map(|i| (i.reference, i.current_end))
        .collect()
}

async fn export_text(app: &TestApp, format: Format, day: NaiveDate) -> String {
    let opts = ExportOptions {
        today: day,
        ..ExportOptions::from_settings(&app.registry.settings, "http://test/export")
    };
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut sink = Sink::Writer(&mut buf);
        export::export(
            &app.registry.db,
            format,
            &AgreementFilter::default(),
            &opts,
            &mut sink,
            &mut |_| {},
        )
        .await
        .unwrap_or_else(|e| panic!("export: {e}"));
    }
    String::from_utf8(buf).unwrap_or_else(|e| panic!("{e}"))
}

async fn every_view_agrees_with_the_clock_on_every_sample_around_its_deadlines(app: TestApp) {
    app.load_examples().await;
    let ladders = app.registry.settings.reminders.clone();
    let all = store::list_agreements(
        &app.registry.db,
        &AgreementFilter::default(),
        SortKey::Reference,
        false,
        1,
        200,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let refs: Vec<String> = all.items.iter().map(|i| i.reference.clone()).collect();
    assert_eq!(refs.len(), 15);
    let mut first = Vec::new();
    for r in &refs {
        first.push(stored(&app, r).await.data);
    }
    let today = app.registry.settings.today();
    let days = days_around(&first, today);
    assert!(days.len() > 30, "{} days", days.len());

    // Days in order, as the daily sweep sees them.
    for day in days {
        renewals::apply_due(&app.registry.db, day)
            .await
            .unwrap_or_else(|e| panic!("{day}: {e}"));
        let in_force = list_ends(
            &app,
            AgreementFilter {
                active_on: Some(day),
                ..AgreementFilter::default()
            },
        )
        .await;
        let by_end = list_ends(&app, AgreementFilter::default()).await;
        let csv = export_text(&app, Format::Csv, day).await;
        let ocds: Value = serde_json::from_str(&export_text(&app, Format::Ocds, day).await)
            .unwrap_or_else(|e| panic!("{e}"));
        let json: Value = serde_json::from_str(&export_text(&app, Format::Json, day).await)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut csv_rows = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        let header: Vec<String> = csv_rows
            .headers()
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(str::to_owned)
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap_or(usize::MAX);
        let csv_by_ref: HashMap<String, Vec<String>> = csv_rows
            .records()
            .map(|r| {
                let r: Vec<String> = r
                    .unwrap_or_else(|e| panic!("{e}"))
                    .iter()
                    .map(str::to_owned)
                    .collect();
                (r[0].clone(), r)
            })
            .collect();

        for r in &refs {
            let s = stored(&app, r).await;
            let a = &s.data;
            let st = state_on(a, day);
            let what = format!("{r} on {day}");
            // Storage: the stored end is the clock's (the sweep of the day ran).
            assert_eq!(a.period.current_end, st.term_end, "{what}: stored end");
            assert_eq!(st.renewals_pending, 0, "{what}: renewals left unstored");
            // The list filter and the sort read the stored end.
            assert_eq!(
                in_force.iter().any(|(x, _)| x == r),
                st.active,
                "{what}: active_on"
            );
            assert!(
                by_end.iter().any(|(x, e)| x == r && *e == st.term_end),
                "{what}: list end"
            );
            // derived.*
            let dv = Derived::of(a, day, &ladders);
            let dj = serde_json::to_value(&dv).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(dj["active"], json!(st.active), "{what}: derived.active");
            assert_eq!(dj["current_end"], json!(st.term_end), "{what}: derived end");
            assert_eq!(
                dj["renewal_notice_deadline"],
                json!(st.renewal_notice_deadline),
                "{what}: derived renewal deadline"
            );
            // The deadline list (and so its reminders and the calendar feed).
            let list = deadlines(a, day, &ladders);
            let renewal: Vec<NaiveDate> = list
                .iter()
                .filter(|x| x.kind == DeadlineKind::RenewalNotice)
                .map(|x| x.date)
                .collect();
            let running = matches!(
                a.status,
                avtal::domain::codes::AgreementStatus::Active
                    | avtal::domain::codes::AgreementStatus::NoticeGiven
            );
            if running {
                assert_eq!(
                    renewal,
                    st.renewal_notice_deadline.into_iter().collect::<Vec<_>>(),
                    "{what}: renewal notice deadline in the list"
                );
                if !st.renewable {
                    assert!(
                        list.iter()
                            .any(|x| x.kind == DeadlineKind::End && x.date == st.term_end),
                        "{what}: end deadline"
                    );
                }
            }
            // CSV, JSON, OCDS.
            let row = csv_by_ref
                .get(r)
                .unwrap_or_else(|| panic!("{what}: no CSV row"));
            assert_eq!(
                row[col("Aktuellt slut")],
                st.term_end.to_string(),
                "{what}: CSV end"
            );
            let renewals_cell = a
                .tacit_renewal
                .as_ref()
                .map(|_| st.renewals_done.to_string())
                .unwrap_or_default();
            assert_eq!(
                row[col("Automatiska förlängningar")],
                renewals_cell,
                "{what}: CSV renewals"
            );
            let j = json["agreements"]
                .as_array()
                .and_then(|v| v.iter().find(|x| x["reference"] == json!(r)))
                .unwrap_or_else(|| panic!("{what}: not in JSON"));
            assert_eq!(
                j["period"]["current_end"],
                json!(st.term_end),
                "{what}: JSON end"
            );
            let release = ocds["releases"]
                .as_array()
                .and_then(|v| {
                    v.iter()
                        .find(|x| x["ocid"].as_str().is_some_and(|o| o.ends_with(r.as_str())))
                })
                .unwrap_or_else(|| panic!("{what}: not in OCDS"));
            let end = release["contracts"][0]["period"]["endDate"]
                .as_str()
                .unwrap_or_default();
            assert!(
                end.starts_with(&st.term_end.to_string()),
                "{what}: OCDS end {end}"
            );
        }
    }
    chain_holds(&app).await;
}

async fn the_agreement_page_and_calendar_show_the_renewed_term(app: TestApp) {
    app.load_examples().await;
    let page = app
        .client
        .get(format!("{}/agreements/AGR-2025-0014", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("2025-01-01 – 2027-12-31"),
        "the period shows the renewed end"
    );
    assert!(
        page.contains("Sista dag att säga upp mot förlängning</dt><dd>2027-09-30"),
        "the next notice deadline counts from the renewed term"
    );
    assert!(page.contains("förlängt 2 gånger"), "the renewals done");

    let r = app
        .post(
            "/api/v1/contacts/hanna.berglund@uppsala.example/calendar-feed",
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let url = r.body["url"].as_str().unwrap_or_default().to_owned();
    let path = url
        .strip_prefix(app.registry.settings.public_url.as_str())
        .unwrap_or_default()
        .to_owned();
    let ics = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        ics.contains("20270930"),
        "the feed has the renewed term's deadline"
    );
    assert!(!ics.contains("20250930"), "and not the first term's");
}

crate::on_both_backends!(
    an_agreement_imported_late_renews_once_per_missed_deadline,
    importing_again_and_sweeping_twice_never_renews_twice,
    the_daily_sweep_stores_a_renewal_the_day_after_its_deadline_once,
    saving_an_agreement_applies_its_due_renewals_with_one_entry_each,
    a_notice_of_non_renewal_on_time_ends_the_current_term,
    a_late_notice_of_non_renewal_ends_the_term_the_renewal_started,
    the_notice_sample_ended_at_its_term_and_keeps_its_final_report,
    every_view_agrees_with_the_clock_on_every_sample_around_its_deadlines,
    the_agreement_page_and_calendar_show_the_renewed_term,
);
