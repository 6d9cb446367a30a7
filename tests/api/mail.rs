//! Reminder e-mail end to end: sweep the samples into the outbox, send it to a real SMTP server
//! on loopback, and check what arrived; retries, crashes, digests and the `.eml` default.

use std::collections::HashSet;

use avtal::config::{Settings, SmtpSettings, SmtpTls};
use avtal::db::entities::outbox::Model as Row;
use avtal::db::outbox::{self, OutboxState};
use avtal::notify::mailer::{Mailer, send_due};
use avtal::notify::{Composer, RunSummary, run_once};
use chrono::{Duration, Utc};
use mailparse::{MailHeaderMap, ParsedMail};

use crate::helpers::{Received, SmtpSink, TestApp, sample_today};

fn smtp_settings(app: &TestApp, port: u16) -> Settings {
    let mut s = (*app.registry.settings).clone();
    s.notify.smtp = Some(SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls: SmtpTls::None,
        username: None,
        password: None,
        ca_file: None,
    });
    s
}

fn composer(s: &Settings) -> Composer {
    Composer::new(s).unwrap_or_else(|e| panic!("composer: {e}"))
}

/// One sweep of the sample day, now.
async fn sweep(
    db: &sea_orm::DatabaseConnection,
    today: chrono::NaiveDate,
    s: &Settings,
    c: &Composer,
) -> Result<avtal::notify::SweepSummary, avtal::notify::NotifyError> {
    avtal::notify::sweep(db, s, c, today, Utc::now()).await
}

fn mailer(s: &Settings) -> Mailer {
    Mailer::from_settings(s).unwrap_or_else(|e| panic!("mailer: {e}"))
}

async fn run(app: &TestApp, s: &Settings, m: &Mailer) -> RunSummary {
    run_once(
        &app.registry.db,
        s,
        &composer(s),
        m,
        sample_today(),
        Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("notify run on {:?}: {e}", app.backend))
}

async fn rows(app: &TestApp) -> Vec<Row> {
    outbox::list(&app.registry.db, None, 500)
        .await
        .unwrap_or_else(|e| panic!("outbox: {e}"))
}

fn parse(m: &Received) -> ParsedMail<'_> {
    mailparse::parse_mail(&m.data).unwrap_or_else(|e| panic!("not a MIME message: {e}"))
}

fn header(p: &ParsedMail<'_>, name: &str) -> String {
    p.headers
        .get_first_value(name)
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn find<'a>(got: &'a [Received], needle: &str) -> &'a Received {
    got.iter()
        .find(|m| header(&parse(m), "Subject").contains(needle))
        .unwrap_or_else(|| panic!("no message whose subject has {needle:?}"))
}

/// Unfolds an iCalendar text and returns its lines, checking the folding on the way.
fn ics_lines(ics: &str) -> Vec<String> {
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "line over 75 octets: {line:?}");
    }
    ics.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn reminders_go_out_over_smtp_with_headers_alternatives_and_a_calendar_file(app: TestApp) {
    app.load_examples().await;
    let sink = SmtpSink::start().await;
    let s = smtp_settings(&app, sink.port);
    let m = mailer(&s);

    let first = run(&app, &s, &m).await;

    assert_eq!((first.sweep.due, first.sweep.queued), (10, 10), "{first}");
    assert_eq!((first.send.sent, first.send.failed), (10, 0), "{first}");
    let got = sink.messages();
    assert_eq!(got.len(), 10);

    // The option decision of AGR-2025-0004: the owner acts, the partner is informed.
    let option = find(&got, "AGR-2025-0004");
    let p = parse(option);
    assert!(header(&p, "From").contains("avtal@localhost"));
    assert_eq!(header(&p, "To"), "sara.nystrom@haninge.example");
    assert_eq!(header(&p, "Cc"), "fatima@ljusglimt.example");
    assert_eq!(header(&p, "MIME-Version"), "1.0");
    assert!(
        mailparse::dateparse(&header(&p, "Date")).is_ok(),
        "Date header parses"
    );
    let row = rows(&app)
        .await
        .into_iter()
        .find(|r| r.dedupe_key == "AGR-2025-0004/option_decision/1@2026-12-31/d60")
        .unwrap_or_else(|| panic!("no outbox row for the option reminder"));
    assert_eq!(header(&p, "Message-ID"), row.message_id);
    assert_eq!(row.state, "sent");
    assert_eq!(
        option.rcpt_to,
        vec!["sara.nystrom@haninge.example", "fatima@ljusglimt.example"]
    );
    let raw_subject = p
        .headers
        .iter()
        .find(|h| h.get_key_ref().eq_ignore_ascii_case("subject"))
        .map(|h| String::from_utf8_lossy(h.get_value_raw()).into_owned())
        .unwrap_or_default();
    assert!(raw_subject.is_ascii(), "subject is encoded: {raw_subject}");
    assert!(raw_subject.contains("=?utf-8?"), "RFC 2047: {raw_subject}");
    let subject = header(&p, "Subject");
    assert!(
        subject.starts_with("Påminnelse: beslut om förlängning av AGR-2025-0004"),
        "{subject}"
    );
    assert!(subject.contains("31 december 2026"), "{subject}");

    assert_eq!(p.ctype.mimetype, "multipart/mixed");
    assert_eq!(p.subparts.len(), 2);
    let alt = &p.subparts[0];
    assert_eq!(alt.ctype.mimetype, "multipart/alternative");
    let kinds: Vec<&str> = alt
        .subparts
        .iter()
        .map(|s| s.ctype.mimetype.as_str())
        .collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);
    let text = alt.subparts[0].get_body().unwrap_or_default();
    assert!(text.contains("31 december 2026"), "{text}");
    assert!(text.contains("optionen förfaller"), "{text}");
    let html = alt.subparts[1].get_body().unwrap_or_default();
    assert!(html.contains("<strong>31 december 2026</strong>"), "{html}");

    let cal = &p.subparts[1];
    assert_eq!(cal.ctype.mimetype, "text/calendar");
    let ics = cal.get_body().unwrap_or_default();
    let lines = ics_lines(&ics);
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    for want in [
        "VERSION:2.0",
        "BEGIN:VEVENT",
        "UID:AGR-2025-0004/option_decision/1@2026-12-31/d60@avtal",
        "DTSTART;VALUE=DATE:20261231",
        "END:VEVENT",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want} missing in\n{ics}");
    }
    for prefix in ["DTSTAMP:", "SUMMARY:Påminnelse", "DESCRIPTION:Hej!\\n"] {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix)),
            "{prefix} missing in\n{ics}"
        );
    }

    // The escalated report goes to the escalation contact, reporter and owner in copy.
    let escalated = parse(find(&got, "Eskalerad: rapport saknas för AGR-2025-0005"));
    assert_eq!(
        header(&escalated, "To"),
        "sysselsattningskrav@malmo.example"
    );
    assert_eq!(
        header(&escalated, "Cc"),
        "johan@fargfasad.example, ahmed.yusuf@malmo.example"
    );

    // A second run queues and sends nothing: it does not even read an agreement again, as each
    // one's next sweep day is later.
    let second = run(&app, &s, &m).await;
    assert_eq!(
        (
            second.sweep.read,
            second.sweep.queued,
            second.sweep.already_queued
        ),
        (0, 0, 0)
    );
    assert_eq!(second.send.claimed, 0);
    assert_eq!(sink.messages().len(), 10);
    assert_eq!(rows(&app).await.len(), 10);
}

async fn a_message_is_sent_exactly_once_in_the_first_pass_after_the_server_was_down(app: TestApp) {
    app.load_examples().await;
    let port = SmtpSink::free_port().await;
    let s = smtp_settings(&app, port);
    let m = mailer(&s);

    let down = run(&app, &s, &m).await;
    // Taken after the run that queued the messages, so they are due by then whatever the clock
    // did during it.
    let now = Utc::now();

    // An unreachable server costs the messages nothing: no attempt, no backoff.
    assert_eq!((down.send.sent, down.send.retrying), (0, 0), "{down}");
    assert!(down.send.stopped, "{down}");
    for r in rows(&app).await {
        assert_eq!(r.state, "pending", "{}", r.dedupe_key);
        assert_eq!(r.attempts, 0);
        assert!(r.next_attempt_at <= now, "{} is due at once", r.dedupe_key);
        let error = r.last_error.unwrap_or_default();
        assert!(!error.contains('@'), "{error}");
    }

    let sink = SmtpSink::start_on(port).await;
    let up = send_due(&app.registry.db, &m, &s.notify, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(up.sent, 10, "{up:?}");
    let again = send_due(&app.registry.db, &m, &s.notify, now + Duration::hours(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.claimed, 0);
    let got = sink.messages();
    let ids: HashSet<String> = got
        .iter()
        .map(|g| header(&parse(g), "Message-ID"))
        .collect();
    assert_eq!(
        (got.len(), ids.len()),
        (10, 10),
        "each message exactly once"
    );
    assert!(
        rows(&app)
            .await
            .iter()
            .all(|r| r.state == "sent" && r.attempts == 1)
    );
}

async fn a_send_interrupted_by_a_crash_is_resent_with_the_same_message_id(app: TestApp) {
    app.load_examples().await;
    let sink = SmtpSink::start().await;
    let s = smtp_settings(&app, sink.port);
    let m = mailer(&s);
    sweep(&app.registry.db, sample_today(), &s, &composer(&s))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let now = Utc::now();
    // A sender claims one message and dies before marking it.
    let claimed = outbox::claim(&app.registry.db, now, 1, Duration::minutes(10), "crashed")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claimed.len(), 1);

    let meanwhile = send_due(&app.registry.db, &m, &s.notify, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        meanwhile.sent, 9,
        "the claimed message is left to its sender"
    );
    let after = send_due(&app.registry.db, &m, &s.notify, now + Duration::minutes(11))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.sent, 1, "an expired claim is taken over");

    let resent = sink
        .messages()
        .into_iter()
        .filter(|g| header(&parse(g), "Message-ID") == claimed[0].message_id)
        .count();
    assert_eq!(resent, 1);
}

async fn messages_that_keep_failing_are_listed_for_officers(app: TestApp) {
    app.load_examples().await;
    let refusing = crate::outbox::FaultSink::start(crate::outbox::Mode::RefuseRecipients).await;
    let mut s = smtp_settings(&app, refusing.port);
    s.notify.max_attempts = 1;
    let m = mailer(&s);

    let r = run(&app, &s, &m).await;

    assert_eq!(r.send.failed, 10, "{r}");
    let list = app.get("/api/v1/outbox?state=failed").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body.as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 10);
    assert!(
        items
            .iter()
            .all(|i| i["state"] == "failed" && i["last_error"].is_string())
    );
    assert_eq!(
        app.get("/api/v1/outbox?state=sent").await.body,
        serde_json::json!([])
    );
    assert_eq!(app.get("/api/v1/outbox?state=lost").await.status, 400);
    assert_eq!(OutboxState::parse("failed"), Some(OutboxState::Failed));
}

async fn without_an_smtp_server_messages_are_written_as_eml_files(app: TestApp) {
    app.load_examples().await;
    let s = (*app.registry.settings).clone();
    let m = mailer(&s);

    let r = run(&app, &s, &m).await;

    assert_eq!(r.send.sent, 10, "{r}");
    let dir = s.data_dir.join("outbox");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 10);
    let eml = std::fs::read(files[0].path()).unwrap_or_default();
    let p = mailparse::parse_mail(&eml).unwrap_or_else(|e| panic!("{e}"));
    assert!(header(&p, "Message-ID").ends_with("@localhost>"));
    assert_eq!(p.ctype.mimetype, "multipart/mixed");
}

async fn a_digest_sends_each_recipient_one_message_a_day(app: TestApp) {
    app.load_examples().await;
    let sink = SmtpSink::start().await;
    let mut s = smtp_settings(&app, sink.port);
    s.notify.digest = true;
    let m = mailer(&s);

    let first = run(&app, &s, &m).await;
    let second = run(&app, &s, &m).await;

    let got = sink.messages();
    assert_eq!(first.send.sent, got.len());
    assert_eq!((second.sweep.queued, second.send.sent), (0, 0), "{second}");
    let mut seen = HashSet::new();
    for g in &got {
        assert_eq!(g.rcpt_to.len(), 1, "a digest has one recipient");
        assert!(
            seen.insert(g.rcpt_to[0].clone()),
            "one digest per recipient"
        );
    }
    // A reminder that becomes due later the same day gets a second digest with just it.
    put_changed(&app, "AGR-2025-0004", |doc| {
        doc["options"][0]["decide_by"] = serde_json::json!("2026-12-15");
    })
    .await;
    let third = run(&app, &s, &m).await;
    let later: Vec<Received> = sink.messages().into_iter().skip(got.len()).collect();
    let mut to: Vec<&str> = later.iter().map(|g| g.rcpt_to[0].as_str()).collect();
    to.sort_unstable();
    assert_eq!(
        to,
        ["fatima@ljusglimt.example", "sara.nystrom@haninge.example"],
        "{third}"
    );
    assert!(header(&parse(&later[0]), "Subject").contains("1 påminnelse "));
    assert_eq!(run(&app, &s, &m).await.send.sent, 0);

    let hanna = got
        .iter()
        .find(|g| g.rcpt_to[0] == "hanna.berglund@uppsala.example")
        .unwrap_or_else(|| panic!("no digest for the Uppsala owner"));
    let p = parse(hanna);
    assert_eq!(
        header(&p, "Subject"),
        "Avtalsregistret: 3 påminnelser 22 november 2026"
    );
    let ics = p.subparts[1].get_body().unwrap_or_default();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 3);
}

async fn two_sweeps_at_once_queue_each_reminder_once(app: TestApp) {
    app.load_examples().await;
    let s = (*app.registry.settings).clone();
    let t = composer(&s);

    let (a, b) = tokio::join!(
        sweep(&app.registry.db, sample_today(), &s, &t),
        sweep(&app.registry.db, sample_today(), &s, &t)
    );

    let (a, b) = (
        a.unwrap_or_else(|e| panic!("{e}")),
        b.unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(a.queued + b.queued, 10, "{a:?} {b:?}");
    let keys: HashSet<String> = rows(&app).await.into_iter().map(|r| r.dedupe_key).collect();
    assert_eq!(keys.len(), 10);
    assert_eq!(rows(&app).await.len(), 10);
}

async fn two_sweeps_and_two_senders_at_once_deliver_each_reminder_exactly_once(app: TestApp) {
    app.load_examples().await;
    let sink = SmtpSink::start().await;
    let mut s = smtp_settings(&app, sink.port);
    // One message per claim, so the two senders race for every row.
    s.notify.batch_size = 1;
    let t = composer(&s);
    let (m1, m2) = (mailer(&s), mailer(&s));
    let db = &app.registry.db;
    let pass = async |m: &Mailer| {
        let swept = sweep(db, sample_today(), &s, &t)
            .await
            .unwrap_or_else(|e| panic!("sweep on {:?}: {e}", app.backend));
        let sent = send_due(db, m, &s.notify, Utc::now())
            .await
            .unwrap_or_else(|e| panic!("send on {:?}: {e}", app.backend));
        (swept, sent)
    };

    let ((sw1, se1), (sw2, se2)) = tokio::join!(pass(&m1), pass(&m2));
    // Whatever one pass queued after the other had begun sending is left for a last pass.
    let last = send_due(db, &m1, &s.notify, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("send on {:?}: {e}", app.backend));

    assert_eq!(sw1.queued + sw2.queued, 10, "{sw1:?} {sw2:?}");
    assert_eq!(
        se1.sent + se2.sent + last.sent,
        10,
        "{se1:?} {se2:?} {last:?}"
    );
    let got = sink.messages();
    let ids: HashSet<String> = got
        .iter()
        .map(|g| header(&parse(g), "Message-ID"))
        .collect();
    assert_eq!(got.len(), 10, "a message was delivered twice or not at all");
    assert_eq!(ids.len(), 10);
    assert!(
        rows(&app).await.iter().all(|r| r.state == "sent"),
        "every row is marked sent"
    );
}

async fn changed_ladders_or_an_earlier_day_make_the_next_sweep_read_every_agreement(app: TestApp) {
    app.load_examples().await;
    let mut s = (*app.registry.settings).clone();
    let t = composer(&s);
    let db = &app.registry.db;
    let swept = async |s: &Settings, day: chrono::NaiveDate| {
        sweep(db, day, s, &t)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = swept(&s, sample_today()).await;
    assert_eq!((first.read, first.queued), (15, 10), "{first:?}");
    assert_eq!(swept(&s, sample_today()).await.read, 0);

    s.reminders.report = vec![21, 14, 7, 0];
    let new_ladders = swept(&s, sample_today()).await;
    assert_eq!(new_ladders.read, 15, "{new_ladders:?}");
    assert_eq!(swept(&s, sample_today()).await.read, 0);
    // The full sweep stored only the days that changed: every stored day is the new ladders' one.
    avtal::db::sweep::prepare(db, sample_today(), "check")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let check = avtal::notify::plan_for_sweep_in_chunks(db, sample_today(), &s.reminders, 4, 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.next_days.len(), 15);
    for (id, _, next) in &check.next_days {
        let stored = check.stored_days.get(id).copied().flatten();
        assert!(
            avtal::db::sweep::unchanged(stored, *next),
            "agreement {id}: stored {stored:?}, new ladders {next:?}"
        );
    }
    // A full sweep marked due stays due until one has finished.
    assert_eq!(swept(&s, sample_today()).await.read, 15);
    assert_eq!(swept(&s, sample_today()).await.read, 0);

    let earlier = sample_today() - chrono::Days::new(7);
    assert_eq!(swept(&s, earlier).await.read, 15);
}

async fn put_changed(app: &TestApp, reference: &str, change: impl FnOnce(&mut serde_json::Value)) {
    let before = app.agreement(reference).await;
    let mut doc = before.body["agreement"].clone();
    change(&mut doc);
    let put = app
        .put(
            &format!("/api/v1/agreements/{reference}"),
            &serde_json::json!({"version": before.body["version"], "agreement": doc}),
        )
        .await;
    assert_eq!(put.status, 200, "{reference}: {}", put.body);
}

async fn a_moved_date_re_arms_its_reminder_and_a_submitted_report_gets_none(app: TestApp) {
    app.load_examples().await;
    let sink = SmtpSink::start().await;
    let s = smtp_settings(&app, sink.port);
    let m = mailer(&s);
    run(&app, &s, &m).await;

    put_changed(&app, "AGR-2025-0004", |doc| {
        doc["options"][0]["decide_by"] = serde_json::json!("2026-12-15");
    })
    .await;
    put_changed(&app, "AGR-2025-0005", |doc| {
        doc["reporting"][0]["occurrences"] = serde_json::json!([
            {"period_end": "2026-09-30", "state": "submitted", "submitted_on": "2026-11-22"}
        ]);
    })
    .await;
    let second = run(&app, &s, &m).await;

    // Only the two edited agreements are read again: the moved option is due, the report is not.
    assert_eq!(
        (second.sweep.read, second.sweep.due, second.sweep.queued),
        (2, 1, 1),
        "{second}"
    );
    assert_eq!(second.send.sent, 1);
    let keys: Vec<String> = rows(&app).await.into_iter().map(|r| r.dedupe_key).collect();
    assert!(
        keys.iter()
            .any(|k| k.starts_with("AGR-2025-0004/option_decision/1@2026-12-15/")),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 11);
    assert_eq!(sink.messages().len(), 11);
}

#[test]
fn serve_sweeps_and_sends_in_the_background() {
    serve_demo_and_count_eml("1");
}

/// With the default five minutes between runs: what the first sweep queues is sent at once, not
/// at the next run (a new user of `serve --demo` sees the e-mails within seconds).
#[test]
fn serve_sends_what_its_first_sweep_queued_without_waiting_for_the_next_run() {
    serve_demo_and_count_eml("300");
}

/// Runs `avtal serve --demo` with runs `interval` seconds apart and checks that the demo's 10
/// reminders are written as .eml files within 30 s, each once.
fn serve_demo_and_count_eml(interval: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env_remove("AVTAL_TODAY")
        .env("AVTAL_NOTIFY__INTERVAL_SECONDS", interval)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start avtal serve: {e}"));
    let outbox = dir.path().join("outbox");
    let count = || {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    };
    let mut seen = 0;
    for _ in 0..120 {
        seen = count();
        if seen >= 10 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    // A few more runs must not send anything twice.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let after = count();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        (seen, after),
        (10, 10),
        "the demo's 10 reminders, once each"
    );
}

fn message(key: &str, subject: &str) -> outbox::NewMessage {
    outbox::NewMessage {
        dedupe_key: key.to_owned(),
        reference: "AGR-2025-0013".into(),
        kind: "option_decide_by".into(),
        to: vec![
            avtal::domain::party::EmailAddress::parse("avtal@haninge.example")
                .unwrap_or_else(|e| panic!("{e}")),
        ],
        cc: Vec::new(),
        subject: subject.to_owned(),
        text: "text".into(),
        html: "<p>html</p>".into(),
        ics: String::new(),
        message_id: format!("<{subject}@avtal.test>"),
    }
}

async fn queueing_one_dedupe_key_twice_keeps_the_first_message_only(app: TestApp) {
    let db = &app.registry.db;
    let key = "AGR-2025-0013/option:1/2027-01-31/before:7";
    let now = Utc::now();
    let created = outbox::insert_many(db, vec![message(key, "first")], now)
        .await
        .unwrap_or_else(|e| panic!("first queueing: {e}"));
    assert_eq!(created, 1);
    let created = outbox::insert_many(db, vec![message(key, "second")], now)
        .await
        .unwrap_or_else(|e| panic!("second queueing of the same key must not fail: {e}"));
    assert_eq!(created, 0, "the second queueing creates nothing");
    // In a batch with a new key, only the new one is created.
    let other = "AGR-2025-0013/option:1/2027-01-31/before:14";
    let created = outbox::insert_many(
        db,
        vec![message(key, "third"), message(other, "other")],
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("third queueing: {e}"));
    assert_eq!(created, 1);
    // The one-message insert skips it as well.
    let id = outbox::insert(db, message(key, "fourth"), now)
        .await
        .unwrap_or_else(|e| panic!("fourth queueing: {e}"));
    assert_eq!(id, None);
    let all = rows(&app).await;
    let queued: Vec<(&str, &str)> = all
        .iter()
        .map(|r| (r.dedupe_key.as_str(), r.subject.as_str()))
        .collect();
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert!(queued.contains(&(key, "first")), "{queued:?}");
    assert!(queued.contains(&(other, "other")), "{queued:?}");
}

async fn a_title_with_markup_is_escaped_in_the_reminders_html(app: TestApp) {
    app.load_examples().await;
    let hostile = "<script>alert(1)</script> & <b>fet</b>";
    put_changed(&app, "AGR-2025-0004", |doc| doc["title"] = hostile.into()).await;
    let s = (*app.registry.settings).clone();
    sweep(&app.registry.db, sample_today(), &s, &composer(&s))
        .await
        .unwrap_or_else(|e| panic!("sweep: {e}"));
    let row = rows(&app)
        .await
        .into_iter()
        .find(|r| r.dedupe_key == "AGR-2025-0004/option_decision/1@2026-12-31/d60")
        .unwrap_or_else(|| panic!("no outbox row for the option reminder"));
    assert!(
        row.body_html
            .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt; &amp; &lt;b&gt;fet"),
        "{}",
        row.body_html
    );
    assert!(
        !row.body_html.contains("<script>alert"),
        "{}",
        row.body_html
    );
    assert!(!row.body_html.contains("<b>fet"), "{}", row.body_html);
}

/// The reminder keys of a plan, sorted (a key twice stays twice).
fn keys_of(plan: &avtal::notify::Plan) -> Vec<String> {
    let mut keys: Vec<String> = plan.reminders.iter().map(|r| r.key.to_string()).collect();
    keys.sort();
    keys
}

async fn a_sweep_in_chunks_reads_every_agreement_once_however_it_is_split(app: TestApp) {
    app.load_examples().await;
    let (db, ladders) = (&app.registry.db, &app.registry.settings.reminders);
    let mut days = vec![sample_today()];
    days.extend((0..24).map(|m| sample_today() - Duration::days(300) + Duration::days(31 * m)));
    let mut reminders = 0;
    for today in days {
        // The whole engine over every agreement, and the sweep's plan in one chunk.
        let whole = avtal::notify::plan(db, today, ladders)
            .await
            .unwrap_or_else(|e| panic!("plan: {e}"));
        let one = avtal::notify::plan_for_sweep_in_chunks(db, today, ladders, 1_000, 1)
            .await
            .unwrap_or_else(|e| panic!("sweep plan: {e}"));
        assert_eq!(keys_of(&one), keys_of(&whole), "one chunk on {today}");
        reminders += one.reminders.len();
        for (chunk, workers) in [(1, 1), (1, 4), (2, 3), (3, 2), (5, 8), (12, 2)] {
            let split = avtal::notify::plan_for_sweep_in_chunks(db, today, ladders, chunk, workers)
                .await
                .unwrap_or_else(|e| panic!("sweep plan: {e}"));
            let what = format!("{chunk} per chunk, {workers} workers, on {today}");
            assert_eq!(
                split.agreements, whole.agreements,
                "agreements read, {what}"
            );
            let mut ids: Vec<i64> = split.next_days.iter().map(|(id, _, _)| *id).collect();
            let mut once: Vec<i64> = one.next_days.iter().map(|(id, _, _)| *id).collect();
            ids.sort_unstable();
            once.sort_unstable();
            assert_eq!(ids, once, "agreements given a next day, {what}");
            assert_eq!(split.next_days, one.next_days, "next days, {what}");
            assert_eq!(keys_of(&split), keys_of(&whole), "reminders, {what}");
            let order = |p: &avtal::notify::Plan| -> Vec<String> {
                p.reminders.iter().map(|r| r.key.to_string()).collect()
            };
            assert_eq!(order(&split), order(&one), "order of the reminders, {what}");
            assert_eq!(
                split.deadlines.len(),
                one.deadlines.len(),
                "deadlines kept, {what}"
            );
        }
    }
    assert!(
        reminders > 20,
        "the days chosen have too few reminders to tell: {reminders}"
    );
}

/// Copies of the sample agreements under new references: `copies` of each.
async fn load_copies(app: &TestApp, copies: usize) {
    let files =
        avtal::demo::example_files().unwrap_or_else(|e| panic!("examples do not parse: {e:?}"));
    let mut agreements = Vec::new();
    for (_, file) in &files {
        for a in &file.agreements {
            for i in 0..copies {
                let mut copy = a.clone();
                copy.reference =
                    avtal::domain::agreement::Reference::parse(&format!("K{i:03}-{}", a.reference))
                        .unwrap_or_else(|e| panic!("{e}"));
                agreements.push(copy);
            }
        }
    }
    let file = avtal::format::RegistryFile {
        agreements,
        ..avtal::format::RegistryFile::default()
    };
    let mut quiet = |_: usize, _: usize| {};
    avtal::registry::transfer::import(&app.registry, vec![("copies".into(), file)], &mut quiet)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A sweep with more reminders than it renders at once queues one slice while it renders the
/// next: every reminder is queued once, in the plan's order, each message carrying its own
/// reminder's agreement; a second sweep queues nothing.
async fn a_sweep_of_many_reminders_queues_each_once_in_the_plans_order(app: TestApp) {
    app.load_examples().await;
    load_copies(&app, 85).await;
    let (db, s) = (&app.registry.db, &*app.registry.settings);
    let plan = avtal::notify::plan_for_sweep_in_chunks(db, sample_today(), &s.reminders, 1_000, 1)
        .await
        .unwrap_or_else(|e| panic!("sweep plan: {e}"));
    let planned: Vec<String> = plan.reminders.iter().map(|r| r.key.to_string()).collect();
    assert!(
        planned.len() > 800,
        "not more reminders than one slice of 800: {}",
        planned.len()
    );
    let c = composer(s);
    let first = sweep(db, sample_today(), s, &c)
        .await
        .unwrap_or_else(|e| panic!("sweep: {e}"));
    assert_eq!(
        (first.queued, first.already_queued, first.no_recipient),
        (planned.len(), 0, 0),
        "{first:?}"
    );
    let mut queued = outbox::list(db, None, 10_000)
        .await
        .unwrap_or_else(|e| panic!("outbox: {e}"));
    queued.sort_by_key(|r| r.id);
    let keys: Vec<String> = queued.iter().map(|r| r.dedupe_key.clone()).collect();
    assert_eq!(keys, planned, "each reminder once, in the plan's order");
    for r in &queued {
        assert!(
            r.dedupe_key.starts_with(&format!("{}/", r.reference))
                && r.subject.contains(&r.reference)
                && r.body_text.contains(&r.reference),
            "message {} is not its reminder's: {} / {}",
            r.dedupe_key,
            r.reference,
            r.subject
        );
    }
    let again = sweep(db, sample_today(), s, &c)
        .await
        .unwrap_or_else(|e| panic!("sweep: {e}"));
    assert_eq!(again.queued, 0, "{again:?}");
    assert_eq!(
        outbox::list(db, None, 10_000)
            .await
            .unwrap_or_else(|e| panic!("outbox: {e}"))
            .len(),
        planned.len()
    );
}

/// On a runtime with worker threads, so a slice's queueing really runs beside the rendering.
mod many_reminders {
    use crate::helpers::{Backend, spawn_app};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() {
        super::a_sweep_of_many_reminders_queues_each_once_in_the_plans_order(
            spawn_app(Backend::Sqlite).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() {
        super::a_sweep_of_many_reminders_queues_each_once_in_the_plans_order(
            spawn_app(Backend::Postgres).await,
        )
        .await;
    }
}

async fn a_next_day_stored_for_an_older_version_is_dropped(app: TestApp) {
    app.load_examples().await;
    let (db, ladders) = (&app.registry.db, &app.registry.settings.reminders);
    let today = sample_today();
    let plan = avtal::notify::plan_for_sweep_in_chunks(db, today, ladders, 1_000, 1)
        .await
        .unwrap_or_else(|e| panic!("sweep plan: {e}"));
    assert!(plan.next_days.len() >= 13, "{:?}", plan.next_days);
    // Edited after it was read: a new version, its day NULL again.
    put_changed(&app, "AGR-2025-0004", |doc| {
        doc["options"][0]["decide_by"] = serde_json::json!("2026-12-15");
    })
    .await;
    avtal::db::sweep::set_next(db, &plan.next_days)
        .await
        .unwrap_or_else(|e| panic!("set_next: {e}"));
    let due: Vec<i64> = avtal::db::sweep::due_ids(db, today)
        .await
        .unwrap_or_else(|e| panic!("due_ids: {e}"))
        .agreements
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let edited: Option<i64> = {
        use avtal::db::entities::agreement;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        agreement::Entity::find()
            .select_only()
            .column(agreement::Column::Id)
            .filter(agreement::Column::Reference.eq("AGR-2025-0004"))
            .into_tuple()
            .one(db)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let expected: Vec<i64> = plan
        .next_days
        .iter()
        .filter(|(id, _, next)| Some(*id) == edited || next.is_some_and(|d| d <= today))
        .map(|(id, _, _)| *id)
        .collect();
    assert_eq!(due, expected, "only the edited agreement is read again");
    assert!(
        edited.is_some_and(|id| due.contains(&id)),
        "{edited:?} {due:?}"
    );
}

async fn only_a_sweep_that_read_every_agreement_ends_a_full_sweep(app: TestApp) {
    app.load_examples().await;
    let s = (*app.registry.settings).clone();
    let t = composer(&s);
    let db = &app.registry.db;
    let today = sample_today();
    assert_eq!(
        sweep(db, today, &s, &t)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .read,
        15
    );
    // A sweep reads what is due; meanwhile another configuration marks a full sweep due.
    let partial = avtal::notify::plan_for_sweep_in_chunks(db, today, &s.reminders, 4, 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!partial.full_sweep, "{} read", partial.agreements);
    avtal::db::sweep::prepare(db, today, "other ladders")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    avtal::notify::store_days(db, &partial, today, "this sweep")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let due = avtal::db::sweep::due_ids(db, today)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(due.full, "the partial sweep ended the full one");
    assert_eq!(due.agreements.len(), 15);
    // A sweep that reads every agreement ends it.
    assert_eq!(
        sweep(db, today, &s, &t)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .read,
        15
    );
    assert_eq!(
        sweep(db, today, &s, &t)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .read,
        0
    );
}

crate::on_both_backends!(
    only_a_sweep_that_read_every_agreement_ends_a_full_sweep,
    a_next_day_stored_for_an_older_version_is_dropped,
    a_sweep_in_chunks_reads_every_agreement_once_however_it_is_split,
    a_title_with_markup_is_escaped_in_the_reminders_html,
    queueing_one_dedupe_key_twice_keeps_the_first_message_only,
    reminders_go_out_over_smtp_with_headers_alternatives_and_a_calendar_file,
    a_message_is_sent_exactly_once_in_the_first_pass_after_the_server_was_down,
    a_send_interrupted_by_a_crash_is_resent_with_the_same_message_id,
    messages_that_keep_failing_are_listed_for_officers,
    without_an_smtp_server_messages_are_written_as_eml_files,
    a_digest_sends_each_recipient_one_message_a_day,
    two_sweeps_at_once_queue_each_reminder_once,
    two_sweeps_and_two_senders_at_once_deliver_each_reminder_exactly_once,
    a_moved_date_re_arms_its_reminder_and_a_submitted_report_gets_none,
    changed_ladders_or_an_earlier_day_make_the_next_sweep_read_every_agreement,
);

/// PostgreSQL stores a message's bodies without trying to compress them (the migration
/// `outbox_storage`): its compression gave up on them and only cost the queueing time.
#[tokio::test]
async fn postgres_stores_message_bodies_uncompressed() {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await;
    let rows = app
        .registry
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT attname::text AS name, attstorage::text AS storage FROM pg_attribute \
             WHERE attrelid = 'outbox'::regclass AND attname IN ('body_text', 'body_html', 'ics', 'subject') \
             ORDER BY attname",
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "name").unwrap_or_default(),
                r.try_get("", "storage").unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("body_html", "e"),
        ("body_text", "e"),
        ("ics", "e"),
        ("subject", "x"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(got, want);
}
