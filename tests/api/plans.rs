//! The stored deadlines of the per-user pages (`db::plans`): after every kind of agreement write
//! (import, update, notice of termination, report submission) and on days inside and outside
//! the stored plans' windows, the start page's and the calendar feeds' deadlines are exactly
//! what the deadline engine computes from the documents.

use std::collections::BTreeSet;

use avtal::db::plans::{self, Scope};
use avtal::domain::agreement::Reference;
use avtal::domain::deadlines::{
    Deadline, DeadlineKind, DeadlineState, deadline_contacts, deadlines,
};
use avtal::domain::org_number::OrgNumber;
use avtal::domain::party::EmailAddress;
use avtal::registry::page_cache::PageCache;
use avtal::registry::{AgreementFilter, Registry};
use chrono::{Duration, NaiveDate};
use serde_json::json;
use std::sync::Arc;

use crate::helpers::{TestApp, sample_today};

/// Every agreement's deadlines on `day` by the engine, in the pages' order: `(title, deadline,
/// the agreement's parties)`; and every address the deadlines can name.
async fn engine(app: &TestApp, day: NaiveDate) -> (Vec<Computed>, BTreeSet<String>) {
    let ladders = app.registry.settings.reminders.clone();
    let mut out = Vec::new();
    let mut contacts = BTreeSet::new();
    app.registry
        .each_agreement(&AgreementFilter::default(), |s| {
            contacts.extend(deadline_contacts(&s.data).iter().map(|e| e.to_string()));
            let parties: BTreeSet<OrgNumber> =
                s.data.parties.iter().map(|p| p.org.clone()).collect();
            for mut d in deadlines(&s.data, day, &ladders) {
                d.reminders.clear();
                out.push((s.data.title.clone(), d, parties.clone()));
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (out, contacts)
}

/// A deadline by the engine: the agreement's title, the deadline and the agreement's parties.
type Computed = (String, Deadline, BTreeSet<OrgNumber>);

/// The start page's deadlines of `party` (every agreement's for `None`) on `day` up to
/// `horizon`, from the stored plans, against the engine's.
async fn check_start_page(
    app: &TestApp,
    all: &[Computed],
    party: Option<&OrgNumber>,
    day: NaiveDate,
    horizon: NaiveDate,
) {
    let want: Vec<(String, Deadline)> = all
        .iter()
        .filter(|(_, d, parties)| {
            party.is_none_or(|p| parties.contains(p))
                && d.state != DeadlineState::Met
                && d.date <= horizon
                && (d.date >= day || d.kind == DeadlineKind::Report)
        })
        .map(|(title, d, _)| (title.clone(), d.clone()))
        .collect();
    let got: Vec<(String, Deadline)> = app
        .registry
        .start_deadlines(party, day, horizon)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .deadlines
        .iter()
        .map(|p| (p.title.clone(), p.deadline.clone()))
        .collect();
    assert_eq!(got.len(), want.len(), "start page of {party:?} on {day}");
    assert_eq!(got, want, "start page of {party:?} on {day}");
}

/// The start page's (every agreement's and each party's) and every contact's calendar
/// deadlines on `day`, from the stored plans, against the engine's.
async fn check(app: &TestApp, day: NaiveDate) {
    let horizon = day + Duration::days(90);
    let (all, contacts) = engine(app, day).await;
    check_start_page(app, &all, None, day, horizon).await;
    let parties: BTreeSet<&OrgNumber> = all.iter().flat_map(|(_, _, p)| p).collect();
    assert!(parties.len() > 2, "{parties:?}");
    for party in parties {
        check_start_page(app, &all, Some(party), day, horizon).await;
    }
    assert!(!contacts.is_empty());
    for c in &contacts {
        let email = EmailAddress::parse(c).unwrap_or_else(|e| panic!("{e}"));
        let concerns =
            |d: &Deadline| d.recipients.to.contains(&email) || d.recipients.cc.contains(&email);
        let want: Vec<&Deadline> = all
            .iter()
            .map(|(_, d, _)| d)
            .filter(|d| concerns(d))
            .collect();
        let got: Vec<Deadline> = app
            .registry
            .contact_deadlines(&email, day)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|p| p.deadline)
            .collect();
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            want,
            "calendar of {c} on {day}"
        );
    }
}

/// Checks on the sample day (where every plan holds: nothing is read from the documents) and on
/// days around it, some outside the plans' windows.
async fn check_days(app: &TestApp) {
    let today = sample_today();
    let unplanned = plans::survey(&app.registry.db, Scope::All, today)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unplanned;
    assert!(
        unplanned.is_empty(),
        "every write planned its agreement, not those with ids {unplanned:?}"
    );
    for offset in [0, 1, 40, 130, 400, -200, 900] {
        check(app, today + Duration::days(offset)).await;
    }
}

/// Hands in AGR-2025-0005's report for the quarter ending 2026-09-30 through the API, with the
/// sample's employment requirement figures.
async fn hand_in_q3_report(app: &TestApp) {
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0005/submit-report",
            &json!({
                "report": "social_clause_report",
                "period_end": "2026-09-30",
                "figures": [
                    {"indicator": "req_employed", "total": 1, "women": 0, "men": 1, "other": 0},
                    {"indicator": "req_placements", "total": 1, "women": 1, "men": 0, "other": 0},
                    {"indicator": "req_months", "total": 5, "women": 2, "men": 3, "other": 0}
                ]
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A new calendar feed for `contact` through the API: its path on the server and its token.
async fn new_feed(app: &TestApp, contact: &str) -> (String, String) {
    let r = app
        .post(
            &format!("/api/v1/contacts/{contact}/calendar-feed"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let public = app.registry.settings.public_url.as_str();
    let path = r.body["url"]
        .as_str()
        .and_then(|u| u.strip_prefix(public))
        .unwrap_or_else(|| panic!("{}", r.body))
        .to_owned();
    let token = path
        .strip_prefix("/calendar/")
        .and_then(|t| t.strip_suffix(".ics"))
        .unwrap_or_else(|| panic!("{path}"))
        .to_owned();
    (path, token)
}

/// `reg` as another instance whose day is `day` (a write through it plans on that day), sharing
/// the pages `reg` keeps.
fn on_day(reg: &Registry, day: NaiveDate) -> Registry {
    let mut settings = (*reg.settings).clone();
    settings.today = Some(day);
    Registry {
        settings: Arc::new(settings),
        ..reg.clone()
    }
}

/// `reg` as an instance that keeps no pages: each one is made from scratch.
fn keeping_nothing(reg: &Registry) -> Registry {
    Registry {
        pages: Arc::new(PageCache::disabled()),
        ..reg.clone()
    }
}

/// A start page as compared: its deadlines with their agreements' titles, and the agreements
/// behind a target.
type StartPage = (Vec<(String, Deadline)>, Vec<(Reference, String)>);

/// The start page of `party` (every agreement's for `None`) on `today` up to `horizon`.
async fn start_page(
    reg: &Registry,
    party: Option<&OrgNumber>,
    today: NaiveDate,
    horizon: NaiveDate,
) -> StartPage {
    let found = reg
        .start_deadlines(party, today, horizon)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deadlines = found
        .deadlines
        .iter()
        .map(|p| (p.title.clone(), p.deadline.clone()))
        .collect();
    let behind = found
        .behind
        .iter()
        .map(|b| (b.reference.clone(), b.title.clone()))
        .collect();
    (deadlines, behind)
}

/// The lines of the calendar of the feed with `token`, but its `DTSTAMP`s (the time it was
/// made).
async fn calendar_lines(reg: &Registry, token: &str) -> Vec<String> {
    reg.feed_calendar(token)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no calendar"))
        .split("\r\n")
        .filter(|l| !l.starts_with("DTSTAMP"))
        .map(str::to_owned)
        .collect()
}

/// Renames the agreement `key` through `reg`.
async fn rename(reg: &Registry, key: &Reference, title: &str) {
    let current = reg.agreement(key).await.unwrap_or_else(|e| panic!("{e}"));
    let mut a = current.data.clone();
    a.title = title.to_owned();
    reg.update_agreement(key, current.version, a)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
}

async fn stored_deadlines_follow_imports_updates_notices_and_reports(app: TestApp) {
    // An import writes through the store: the samples are planned.
    app.load_examples().await;
    check_days(&app).await;

    // An update: another reporting contact, one more report, no options.
    let key = Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}"));
    let current = app
        .registry
        .agreement(&key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = current.data.contacts.reporting.clone();
    let mut a = current.data.clone();
    a.contacts.reporting = a.contacts.owner.clone();
    a.options.clear();
    app.registry
        .update_agreement(&key, current.version, a)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    check_days(&app).await;
    if let Some(old) = before {
        // The old reporting contact's calendar no longer has this agreement's reports to hand in.
        let left = app
            .registry
            .contact_deadlines(&old, sample_today())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !left
                .iter()
                .any(|p| p.deadline.reference == key && p.deadline.recipients.to.contains(&old)),
            "{left:?}"
        );
    }

    // Notice of termination: the term ends earlier, later deadlines go.
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0001/notice",
            &json!({"by": "769990-0010", "received_on": "2026-11-10"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    check_days(&app).await;

    // A report handed in: its deadline is met, off the start page.
    hand_in_q3_report(&app).await;
    let met = app
        .registry
        .start_deadlines(None, sample_today(), sample_today() + Duration::days(90))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .deadlines
        .iter()
        .any(|p| p.deadline.reference == key && p.deadline.occurrence.contains(":2026-09-30@"));
    assert!(!met, "the handed-in report is not listed");
    check_days(&app).await;

    // A daily run much later plans again what no longer holds; the pages stay the same.
    let later = sample_today() + Duration::days(900);
    let planned = plans::refresh(&app.registry.db, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(planned > 0, "some windows had passed by {later}");
    check(&app, later).await;
    check(&app, sample_today()).await;
}

/// The start page's deadlines and a calendar are kept in memory until the next write: a write
/// through another instance on the same database (with caches of its own) shows on this
/// instance's next read, and so does one through this instance.
async fn kept_pages_change_with_the_next_write_on_any_instance(app: TestApp) {
    app.load_examples().await;
    let contact = "ahmed.yusuf@malmo.example";
    let (path, _) = new_feed(&app, contact).await;
    let calendar = async || {
        let r = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), 200);
        // Unfolded: a title can be cut by the 75-octet folding.
        r.text()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .replace("\r\n ", "")
    };
    let (today, horizon) = (sample_today(), sample_today() + Duration::days(90));
    let key = Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}"));
    let start_titles = async || -> BTreeSet<String> {
        app.registry
            .start_deadlines(None, today, horizon)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .deadlines
            .iter()
            .filter(|p| p.deadline.reference == key)
            .map(|p| p.title.clone())
            .collect()
    };
    let first = calendar().await;
    assert!(first.contains("BEGIN:VEVENT"), "{first}");
    assert_eq!(calendar().await.lines().count(), first.lines().count());
    let titles = start_titles().await;
    assert_eq!(start_titles().await, titles);
    assert_eq!(titles.len(), 1, "{titles:?}");

    for (n, instance) in [
        Registry::new(app.registry.db.clone(), app.registry.settings.clone()),
        app.registry.clone(),
    ]
    .into_iter()
    .enumerate()
    {
        let title = format!("Omdöpt avtal nummer {n}");
        let current = instance
            .agreement(&key)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut a = current.data.clone();
        a.title = title.clone();
        instance
            .update_agreement(&key, current.version, a)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let after = calendar().await;
        assert!(!first.contains(&title) && after.contains(&title), "{after}");
        assert_eq!(start_titles().await, BTreeSet::from([title]));
    }
}

/// A write to an agreement outside a page's scope leaves the kept page in use (the same copy:
/// its plans' fingerprint is unchanged); a write inside it does not.
async fn kept_pages_outlive_writes_to_other_agreements(app: TestApp) {
    app.load_examples().await;
    let reg = &app.registry;
    let (today, horizon) = (sample_today(), sample_today() + Duration::days(90));
    let key = Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}"));
    let mine = reg.agreement(&key).await.unwrap_or_else(|e| panic!("{e}"));
    let org = mine.data.parties[0].org.clone();
    let contact =
        EmailAddress::parse("ahmed.yusuf@malmo.example").unwrap_or_else(|e| panic!("{e}"));
    assert!(deadline_contacts(&mine.data).contains(&contact));
    // An agreement that neither the organisation nor the contact is on.
    let mut other = None;
    reg.each_agreement(&AgreementFilter::default(), |s| {
        if !s.data.parties.iter().any(|p| p.org == org)
            && !deadline_contacts(&s.data).contains(&contact)
        {
            other.get_or_insert(s.data.reference.clone());
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let other = other.unwrap_or_else(|| panic!("no agreement outside the scope"));
    let (_, token) = new_feed(&app, &contact.to_string()).await;
    let start = async || {
        reg.start_deadlines(Some(&org), today, horizon)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let calendar = async || {
        reg.feed_calendar(&token)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no calendar"))
    };
    let (s1, c1) = (start().await, calendar().await);
    assert!(s1.deadlines.iter().any(|p| p.deadline.reference == key));
    assert!(c1.contains("BEGIN:VEVENT"));
    rename(reg, &other, "Ett annat avtal").await;
    let (s2, c2) = (start().await, calendar().await);
    assert!(Arc::ptr_eq(&s1, &s2), "the start page was read again");
    assert!(Arc::ptr_eq(&c1, &c2), "the calendar was made again");
    rename(reg, &key, "Avtalet med nytt namn").await;
    let (s3, c3) = (start().await, calendar().await);
    assert!(
        s3.deadlines
            .iter()
            .any(|p| p.title == "Avtalet med nytt namn")
    );
    assert!(
        c3.replace("\r\n ", "").contains("Avtalet med nytt namn"),
        "{c3}"
    );
}

/// After writes to some of a contact's or an organisation's agreements (renamed, a report handed
/// in, the contact taken off one and put on another, an agreement moved to the organisation and
/// back), the calendar and the start pages made from their kept deadlines and those agreements
/// read again equal those made from scratch.
async fn kept_pages_remade_after_writes_equal_pages_made_from_scratch(app: TestApp) {
    app.load_examples().await;
    let reg = &app.registry;
    let contact =
        EmailAddress::parse("ahmed.yusuf@malmo.example").unwrap_or_else(|e| panic!("{e}"));
    let (_, token) = new_feed(&app, &contact.to_string()).await;
    let scratch = keeping_nothing(reg);
    let (today, horizon) = (sample_today(), sample_today() + Duration::days(90));
    let first_party = async |reference: &Reference| {
        reg.agreement(reference)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .data
            .parties[0]
            .org
            .clone()
    };
    let buyer =
        first_party(&Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}"))).await;
    let same = async || -> Vec<String> {
        for party in [None, Some(&buyer)] {
            assert_eq!(
                start_page(reg, party, today, horizon).await,
                start_page(&scratch, party, today, horizon).await,
                "start page of {party:?}"
            );
        }
        let kept = calendar_lines(reg, &token).await;
        assert_eq!(kept, calendar_lines(&scratch, &token).await);
        kept
    };
    let events_of = |lines: &[String], reference: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("UID:{reference}/")))
            .count()
    };
    let change = async |reference: &str, f: &dyn Fn(&mut avtal::domain::agreement::Agreement)| {
        let key = Reference::parse(reference).unwrap_or_else(|e| panic!("{e}"));
        let current = reg.agreement(&key).await.unwrap_or_else(|e| panic!("{e}"));
        let mut a = current.data.clone();
        f(&mut a);
        reg.update_agreement(&key, current.version, a)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    };
    let first = same().await;
    assert!(events_of(&first, "AGR-2025-0005") > 0);
    assert_eq!(events_of(&first, "AGR-2025-0001"), 0);

    change("AGR-2025-0005", &|a| a.title = "Omdöpt".into()).await;
    assert!(same().await.iter().any(|l| l.contains("Omdöpt")));

    hand_in_q3_report(&app).await;
    same().await;

    // The owner of AGR-2025-0001 (a registered contact) takes over AGR-2025-0005.
    let other = Reference::parse("AGR-2025-0001").unwrap_or_else(|e| panic!("{e}"));
    let owner = reg
        .agreement(&other)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .data
        .contacts
        .owner
        .filter(|o| *o != contact)
        .unwrap_or_else(|| panic!("AGR-2025-0001 has no other owner"));
    change("AGR-2025-0005", &|a| a.contacts.owner = Some(owner.clone())).await;
    let taken_off = same().await;
    assert!(events_of(&taken_off, "AGR-2025-0005") < events_of(&first, "AGR-2025-0005"));

    change("AGR-2025-0001", &|a| {
        a.contacts.owner = Some(contact.clone())
    })
    .await;
    let put_on = same().await;
    assert!(events_of(&put_on, "AGR-2025-0001") > 0, "{put_on:?}");

    // Taken off again: the agreement leaves the contact's scope altogether.
    change("AGR-2025-0001", &|a| a.contacts.owner = Some(owner.clone())).await;
    assert_eq!(events_of(&same().await, "AGR-2025-0001"), 0);

    // An agreement bought by another organisation comes to the buyer's start page and leaves it.
    let first_party = first_party(&other).await;
    assert_ne!(first_party, buyer);
    let on_page = async || {
        start_page(reg, Some(&buyer), today, horizon)
            .await
            .0
            .iter()
            .any(|(_, d)| d.reference == other)
    };
    assert!(!on_page().await);
    change("AGR-2025-0001", &|a| a.parties[0].org = buyer.clone()).await;
    same().await;
    assert!(on_page().await, "moved to the buyer");
    change("AGR-2025-0001", &|a| a.parties[0].org = first_party.clone()).await;
    same().await;
    assert!(!on_page().await, "moved back");
}

/// A contact's calendar kept on one day is carried to the next days: the deadlines of the
/// agreements whose plans are unchanged are derived again for the day and only the others are
/// read. On every day (the next, a week on, beyond the seven days looked back, across the days
/// plans stop holding, and after writes) it equals a calendar made from scratch on that day.
async fn kept_calendars_carried_to_later_days_equal_calendars_made_from_scratch(app: TestApp) {
    app.load_examples().await;
    let reg = &app.registry;
    let (_, token) = new_feed(&app, "ahmed.yusuf@malmo.example").await;
    let key = Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}"));
    let today = sample_today();
    let first = calendar_lines(&on_day(reg, today), &token).await;
    assert!(first.iter().any(|l| l.starts_with("BEGIN:VEVENT")));
    // Fixed days, and each of the contact's next deadlines' days with the day after (when the
    // deadline has passed: the same plans, other states).
    let contact =
        EmailAddress::parse("ahmed.yusuf@malmo.example").unwrap_or_else(|e| panic!("{e}"));
    let mut days: BTreeSet<NaiveDate> = [1, 2, 9, 10, 40, 41, 42, 130, 131, 400, 401]
        .into_iter()
        .map(|o| today + Duration::days(o))
        .collect();
    let mut upcoming = BTreeSet::new();
    for p in app
        .registry
        .contact_deadlines(&contact, today)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        upcoming.insert(p.deadline.date);
        // A report turns late, and escalated, on days of its own.
        if let Some(r) = &p.deadline.report {
            upcoming.extend([r.late_on, r.escalate_on]);
        }
    }
    let upcoming: Vec<NaiveDate> = upcoming.into_iter().filter(|d| *d > today).collect();
    assert!(upcoming.len() >= 3, "{upcoming:?}");
    for d in upcoming.into_iter().take(4) {
        days.extend([d - Duration::days(1), d]);
    }
    let written = [today + Duration::days(42), today + Duration::days(401)];
    let mut states = BTreeSet::new();
    for day in days {
        // Two instances on the day: one sharing the pages kept by the app's, one keeping none.
        let kept = on_day(reg, day);
        let scratch = keeping_nothing(&kept);
        if written.contains(&day) {
            let offset = (day - today).num_days();
            // Written on the day, before the calendar is read again.
            rename(&kept, &key, &format!("Omdöpt dag {offset}")).await;
        }
        let carried = calendar_lines(&kept, &token).await;
        assert_eq!(
            carried,
            calendar_lines(&scratch, &token).await,
            "calendar on {day}"
        );
        // Read again the same day: kept, and the same.
        assert_eq!(
            calendar_lines(&kept, &token).await,
            carried,
            "kept calendar on {day}"
        );
        states.insert(
            carried
                .into_iter()
                .filter(|l| l.starts_with("SUMMARY"))
                .collect::<Vec<_>>(),
        );
    }
    assert!(
        states.len() > 2,
        "the events change over the days: {states:?}"
    );
}

/// A start page kept on one day is carried to the next days (each a day later, with a horizon a
/// day later): on every day, across deadlines passing, reports turning late and plans ceasing to
/// hold, and after writes, it equals a start page made from scratch, for every agreement's and
/// for one organisation's.
async fn kept_start_pages_carried_to_later_days_equal_pages_made_from_scratch(app: TestApp) {
    app.load_examples().await;
    let reg = &app.registry;
    let scratch = keeping_nothing(reg);
    let key = Reference::parse("AGR-2025-0005").unwrap_or_else(|e| panic!("{e}"));
    let buyer = reg
        .agreement(&key)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .data
        .parties[0]
        .org
        .clone();
    let page = async |r: &Registry, party, day: NaiveDate| {
        start_page(r, party, day, day + Duration::days(90)).await
    };
    let today = sample_today();
    // AGR-2025-0005 with one target over its whole term, set so that the people employed in
    // its accepted reports are on track today and behind within the 100 days (the share of the
    // term passed grows each day): whether it is behind changes with no write, so a page
    // carried to a new day must judge it again.
    let current = reg.agreement(&key).await.unwrap_or_else(|e| panic!("{e}"));
    let mut a = current.data.clone();
    let clause = a
        .social_clauses
        .iter_mut()
        .find(|c| !c.targets.is_empty())
        .unwrap_or_else(|| panic!("AGR-2025-0005 has no target"));
    clause.targets.truncate(1);
    clause.targets[0].per = avtal::domain::codes::TargetPer::Term;
    clause.targets[0].indicator = avtal::domain::indicators::IndicatorId::parse("req_months")
        .unwrap_or_else(|e| panic!("{e}"));
    let last = today + Duration::days(99);
    let behind =
        |a: &avtal::domain::agreement::Agreement, day| avtal::domain::outcomes::behind(a, day);
    let flips = (1..1_000).find(|n| {
        let t = &mut a.social_clauses.iter_mut().find(|c| !c.targets.is_empty());
        if let Some(c) = t {
            c.targets[0].value = avtal::domain::indicators::Quantity::whole(*n);
        }
        !behind(&a, today) && behind(&a, last)
    });
    assert!(
        flips.is_some(),
        "no target value turns AGR-2025-0005 behind"
    );
    reg.update_agreement(&key, current.version, a)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut was_behind = Vec::new();
    // Each day of the next 100, so that every deadline passing and report turning late in the
    // window is crossed by a page carried from the day before; writes on two of them.
    let written = [today + Duration::days(12), today + Duration::days(63)];
    let mut seen = BTreeSet::new();
    for offset in 0..100 {
        let day = today + Duration::days(offset);
        if written.contains(&day) {
            // Written through an instance whose day it is (a write plans on its day).
            rename(&on_day(reg, day), &key, &format!("Omdöpt {day}")).await;
        }
        for party in [None, Some(&buyer)] {
            let kept = page(reg, party, day).await;
            assert_eq!(kept, page(&scratch, party, day).await, "{party:?} on {day}");
            // Judged on every page: every agreement's and its buyer's.
            was_behind.push((party.is_some(), kept.1.iter().any(|(r, _)| *r == key)));
            seen.insert(format!("{kept:?}"));
        }
    }
    assert!(seen.len() > 20, "the pages change over the days");
    for buyers in [false, true] {
        let seen: Vec<bool> = was_behind
            .iter()
            .filter(|(b, _)| *b == buyers)
            .map(|(_, behind)| *behind)
            .collect();
        assert!(
            seen.len() == 100 && seen.first() == Some(&false) && seen.last() == Some(&true),
            "AGR-2025-0005 falls behind (on the buyer's page: {buyers}): {seen:?}"
        );
    }
}

/// The rows of `party_deadline`, in key order.
async fn party_deadlines(app: &TestApp) -> Vec<(i64, bool, NaiveDate, i64, i32)> {
    use sea_orm::ConnectionTrait;
    let db = &app.registry.db;
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "SELECT organisation_id, report, date, agreement_id, seq FROM party_deadline \
         ORDER BY organisation_id, report, date, agreement_id, seq",
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .iter()
    .map(|r| {
        let get = |i: usize| {
            r.try_get_by_index::<i64>(i)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        (
            get(0),
            r.try_get_by_index(1).unwrap_or_else(|e| panic!("{e}")),
            r.try_get_by_index(2).unwrap_or_else(|e| panic!("{e}")),
            get(3),
            r.try_get_by_index(4).unwrap_or_else(|e| panic!("{e}")),
        )
    })
    .collect()
}

/// The migration that adds the open deadlines by party fills them from the plans stored before
/// as the writes do, and its `down` drops them.
async fn the_party_deadlines_migration_fills_them_as_the_writes_do(app: TestApp) {
    use migrations::{Migrator, MigratorTrait};
    app.load_examples().await;
    let written = party_deadlines(&app).await;
    assert!(
        written.iter().any(|r| r.1) && written.iter().any(|r| !r.1),
        "reports and other deadlines: {written:?}"
    );
    let agreements: BTreeSet<i64> = written.iter().map(|r| r.3).collect();
    assert!(agreements.len() > 5, "{agreements:?}");
    let db = &app.registry.db;
    Migrator::down(db, Some(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Migrator::up(db, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(party_deadlines(&app).await, written);
}

crate::on_both_backends!(
    the_party_deadlines_migration_fills_them_as_the_writes_do,
    kept_start_pages_carried_to_later_days_equal_pages_made_from_scratch,
    kept_calendars_carried_to_later_days_equal_calendars_made_from_scratch,
    kept_pages_remade_after_writes_equal_pages_made_from_scratch,
    stored_deadlines_follow_imports_updates_notices_and_reports,
    kept_pages_change_with_the_next_write_on_any_instance,
    kept_pages_outlive_writes_to_other_agreements
);
