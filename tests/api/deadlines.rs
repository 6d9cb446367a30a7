//! The deadline sweep over the 13 stored samples, through the same library function as
//! `avtal notify --dry-run`, and the deadlines in the agreement response.

use avtal::domain::codes::OccurrenceState;
use avtal::domain::deadlines::{Deadline, DeadlineKind, ReminderLadders, Step};
use avtal::notify::{Plan, plan};
use chrono::NaiveDate;

use crate::helpers::{TestApp, sample_today};

fn d(s: &str) -> NaiveDate {
    avtal::domain::dates::parse_iso_date(s).unwrap_or_else(|e| panic!("{e}"))
}

async fn sweep(app: &TestApp) -> Plan {
    app.load_examples().await;
    plan(
        &app.registry.db,
        sample_today(),
        &ReminderLadders::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("the sweep failed on {:?}: {e}", app.backend))
}

fn deadline<'a>(p: &'a Plan, reference: &str, kind: DeadlineKind, date: &str) -> &'a Deadline {
    p.deadlines
        .iter()
        .find(|x| x.reference.as_str() == reference && x.kind == kind && x.date == d(date))
        .unwrap_or_else(|| panic!("{reference}: no {kind} deadline on {date}"))
}

fn last_reminder(x: &Deadline) -> NaiveDate {
    x.reminders
        .iter()
        .filter(|r| matches!(r.step, Step::Before(_)))
        .map(|r| r.date)
        .max()
        .unwrap_or_else(|| panic!("{}: no reminders", x.reference))
}

async fn the_sweep_on_the_samples_today_finds_the_sample_deadlines(app: TestApp) {
    let p = sweep(&app).await;
    assert_eq!(p.agreements, 13);

    let dialogue = deadline(
        &p,
        "AGR-2024-0003",
        DeadlineKind::RenewalDialogue,
        "2026-11-30",
    );
    assert_eq!(
        dialogue.recipients.to[0].as_str(),
        "olof.lund@vasteras.example"
    );

    let q3 = deadline(&p, "AGR-2025-0005", DeadlineKind::Report, "2026-10-20");
    assert_eq!(
        q3.report.as_ref().map(|o| (o.period_end, o.state)),
        Some((d("2026-09-30"), OccurrenceState::Escalated))
    );

    deadline(
        &p,
        "AGR-2025-0004",
        DeadlineKind::OptionDecision,
        "2026-12-31",
    );

    let sunday = deadline(
        &p,
        "AGR-2025-0013",
        DeadlineKind::OptionDecision,
        "2027-01-31",
    );
    assert_eq!(
        last_reminder(sunday),
        d("2027-01-29"),
        "Sunday's reminder goes out Friday"
    );

    let annual = deadline(&p, "AGR-2025-0001", DeadlineKind::Report, "2027-03-31");
    assert_eq!(
        annual
            .report
            .as_ref()
            .map(|o| (o.kind.as_str(), o.period_end)),
        Some(("annual_report", d("2026-12-31")))
    );

    deadline(
        &p,
        "AGR-2026-0009",
        DeadlineKind::RenewalNotice,
        "2027-09-30",
    );
    deadline(&p, "AGR-2024-0010", DeadlineKind::Report, "2026-12-15");

    let new_years_eve = deadline(
        &p,
        "AGR-2025-0007",
        DeadlineKind::OptionDecision,
        "2026-12-31",
    );
    assert_eq!(last_reminder(new_years_eve), d("2026-12-30"));

    assert!(
        p.deadlines
            .iter()
            .all(|x| x.reference.as_str() != "AGR-2027-0012"),
        "a draft has no deadlines"
    );
}

async fn the_sweep_lists_the_reminders_due_today_with_who_acts(app: TestApp) {
    let p = sweep(&app).await;
    let due = |reference: &str, kind: DeadlineKind| {
        p.reminders
            .iter()
            .find(|r| r.reference.as_str() == reference && r.kind == kind)
            .unwrap_or_else(|| panic!("{reference}: no {kind} reminder due in {:#?}", p.reminders))
    };

    let escalated = due("AGR-2025-0005", DeadlineKind::Report);
    assert_eq!(escalated.deadline, d("2026-10-20"));
    assert_eq!(escalated.step, Step::Escalation);
    assert_eq!(
        escalated.recipients.to[0].as_str(),
        "sysselsattningskrav@malmo.example"
    );

    let dialogue = due("AGR-2024-0003", DeadlineKind::RenewalDialogue);
    assert_eq!(
        (dialogue.deadline, dialogue.step),
        (d("2026-11-30"), Step::Before(14))
    );

    let option = due("AGR-2025-0004", DeadlineKind::OptionDecision);
    assert_eq!(option.deadline, d("2026-12-31"));
    assert_eq!(
        option.key.to_string(),
        "AGR-2025-0004/option_decision/1@2026-12-31/d60"
    );

    let sunday = due("AGR-2025-0013", DeadlineKind::OptionDecision);
    assert_eq!(
        (sunday.deadline, sunday.step),
        (d("2027-01-31"), Step::Before(90))
    );

    let mut keys: Vec<String> = p.reminders.iter().map(|r| r.key.to_string()).collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "dedupe keys are unique");
    assert!(p.reminders.iter().all(|r| r.date <= sample_today()));
    let deadlines: Vec<NaiveDate> = p.reminders.iter().map(|r| r.deadline).collect();
    let mut sorted = deadlines.clone();
    sorted.sort();
    assert_eq!(deadlines, sorted, "most urgent first");
}

async fn the_agreement_response_lists_its_deadlines(app: TestApp) {
    app.load_examples().await;
    let r = app.agreement("AGR-2024-0003").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body["derived"]["deadlines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let dialogue = list
        .iter()
        .find(|x| x["kind"] == "renewal_dialogue")
        .unwrap_or_else(|| panic!("no renewal dialogue in {list:?}"));
    assert_eq!(dialogue["date"], "2026-11-30");
    assert_eq!(dialogue["state"], "open");
    assert_eq!(dialogue["actor"], "contract_owner");
    assert_eq!(
        dialogue["reminders"][0]["key"],
        "AGR-2024-0003/renewal_dialogue/2026-11-30/d30"
    );
}

fn avtal(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_avtal"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("AVTAL_TODAY")
        .output()
        .unwrap_or_else(|e| panic!("cannot run avtal: {e}"))
}

#[test]
fn notify_dry_run_prints_the_reminders_due_on_the_given_day() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/contracts/examples");
    let mut files: Vec<String> = std::fs::read_dir(examples)
        .unwrap_or_else(|e| panic!("{examples}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    files.sort();
    // registry.yaml (organisations and contacts) sorts last; the import takes them in one go.
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    let imported = avtal(dir.path(), &args);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let out = avtal(
        dir.path(),
        &[
            "notify",
            "--dry-run",
            "--today",
            "2026-11-22",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    assert_eq!(plan["today"], "2026-11-22");
    let keys: Vec<&str> = plan["reminders"]
        .as_array()
        .map(|v| v.iter().filter_map(|r| r["key"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        keys.contains(
            &"AGR-2025-0005/report/social_clause_report:2026-09-30@2026-10-20/escalation"
        ),
        "{keys:?}"
    );
    let text = avtal(
        dir.path(),
        &["notify", "--dry-run", "--today", "2026-11-22"],
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("AGR-2024-0003 renewal_dialogue 2026-11-30"),
        "{text}"
    );
    let outbox = dir.path().join("outbox");
    let eml_files = || {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(eml_files(), 0, "a dry run sends nothing");

    let sent = avtal(dir.path(), &["notify", "--today", "2026-11-22"]);
    let stdout = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(
        stdout.contains("10 queued") && stdout.contains("10 message(s) sent"),
        "{stdout}"
    );
    assert_eq!(eml_files(), 10, "without SMTP the messages are .eml files");
    let again = avtal(dir.path(), &["notify", "--today", "2026-11-22"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    // Nothing new can be due in any agreement that day: none is read again.
    assert!(
        stdout.contains("0 reminder(s) due in 0 agreement(s) read: 0 queued"),
        "{stdout}"
    );
    assert_eq!(eml_files(), 10, "a second run sends nothing again");
}

crate::on_both_backends!(
    the_sweep_on_the_samples_today_finds_the_sample_deadlines,
    the_sweep_lists_the_reminders_due_today_with_who_acts,
    the_agreement_response_lists_its_deadlines,
);
