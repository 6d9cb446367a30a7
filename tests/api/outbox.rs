//! The outbox under faults, with real SMTP servers on loopback: two senders whose passes outlast
//! their claims, a server that accepts connections and never answers, a server that is down for a
//! whole pass, a sender killed with SIGKILL mid-pass, and refusals that end in `failed`, queued
//! again from the API, the page and the CLI. Each test is bounded in time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use avtal::config::{Settings, SmtpSettings, SmtpTls};
use avtal::db::entities::outbox::Model as Row;
use avtal::db::outbox::{self, NewMessage};
use avtal::domain::access::Role;
use avtal::domain::party::EmailAddress;
use avtal::notify::mailer::{Mailer, SendSummary, SystemClock, send_due};
use chrono::Utc;
use mailparse::MailHeaderMap;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::{Backend, OFFICER_ORG, TestApp};

/// How a fault sink answers.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// Accepts everything, taking `delay` before it acknowledges a message.
    Accept(Duration),
    /// Refuses every recipient with 550.
    RefuseRecipients,
    /// Accepts the connection and never says a word.
    Hang,
}

/// An SMTP server on loopback that accepts, refuses or hangs, and keeps the raw messages.
pub struct FaultSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultSink {
    pub async fn start(mode: Mode) -> Self {
        Self::start_on(0, mode).await
    }

    pub async fn start_on(port: u16, mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("sink bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(session(stream, mode, Arc::clone(&store)));
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    /// The Message-ID of every message received, in order.
    pub fn message_ids(&self) -> Vec<String> {
        self.received
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
            .iter()
            .map(|raw| {
                mailparse::parse_mail(raw)
                    .ok()
                    .and_then(|p| p.headers.get_first_value("Message-ID"))
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl Drop for FaultSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: tokio::net::TcpStream, mode: Mode, store: Arc<Mutex<Vec<Vec<u8>>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let delay = match mode {
        Mode::Hang => {
            // Hold the connection open without a greeting until the client gives up.
            let mut buf = [0u8; 512];
            let mut s = stream;
            while let Ok(n) = tokio::io::AsyncReadExt::read(&mut s, &mut buf).await {
                if n == 0 {
                    return;
                }
            }
            return;
        }
        Mode::Accept(d) => d,
        Mode::RefuseRecipients => Duration::ZERO,
    };
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r);
    if w.write_all(b"220 fault.localhost ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-fault.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("RCPT") && matches!(mode, Mode::RefuseRecipients) {
            b"550 5.1.1 <someone@example.org>: recipient unknown\r\n"
        } else if upper == "DATA" {
            if w.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let Some(data) = crate::helpers::read_smtp_data(&mut lines).await else {
                return;
            };
            tokio::time::sleep(delay).await;
            if let Ok(mut v) = store.lock() {
                v.push(data);
            }
            b"250 OK queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

fn settings_for(app: &TestApp, port: u16) -> Settings {
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

fn mailer(s: &Settings) -> Mailer {
    Mailer::from_settings(s).unwrap_or_else(|e| panic!("mailer: {e}"))
}

/// Queues `n` messages straight into the outbox.
async fn queue(app: &TestApp, n: usize) {
    let to = EmailAddress::parse("sara.nystrom@haninge.example").unwrap_or_else(|e| panic!("{e}"));
    let messages: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            dedupe_key: format!("fault/{i}"),
            reference: "AGR-2025-0004".into(),
            kind: "option_decision".into(),
            to: vec![to.clone()],
            cc: Vec::new(),
            subject: format!("Påminnelse {i}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
            ics: String::new(),
            message_id: format!("<fault-{i}@avtal.test>"),
        })
        .collect();
    for chunk in messages.chunks(100) {
        outbox::insert_many(&app.registry.db, chunk.to_vec(), Utc::now())
            .await
            .unwrap_or_else(|e| panic!("queue: {e}"));
    }
}

async fn rows(app: &TestApp) -> Vec<Row> {
    outbox::list(&app.registry.db, None, 10_000)
        .await
        .unwrap_or_else(|e| panic!("outbox: {e}"))
}

/// (total received, distinct Message-IDs, most copies of one).
fn tally(ids: &[String]) -> (usize, usize, usize) {
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        *copies.entry(id).or_default() += 1;
    }
    (
        ids.len(),
        copies.len(),
        copies.values().copied().max().unwrap_or(0),
    )
}

async fn pass(app: &TestApp, m: &Mailer, s: &Settings) -> SendSummary {
    send_due(&app.registry.db, m, &s.notify, SystemClock)
        .await
        .unwrap_or_else(|e| panic!("send pass on {:?}: {e}", app.backend))
}

async fn two_senders_whose_passes_outlast_the_claim_send_each_message_once(app: TestApp) {
    queue(&app, 90).await;
    // One sender talks to a slow server, the other to a fast one: the fast one runs out of work
    // while the slow one's batch (30 x 100 ms = 3 s) is far past its 1 s claim. Only renewing the
    // claim keeps the fast one from taking the slow one's messages over.
    let slow = FaultSink::start(Mode::Accept(Duration::from_millis(100))).await;
    let fast = FaultSink::start(Mode::Accept(Duration::from_millis(5))).await;
    let (mut s_slow, mut s_fast) = (settings_for(&app, slow.port), settings_for(&app, fast.port));
    for s in [&mut s_slow, &mut s_fast] {
        s.notify.claim_seconds = 1;
        s.notify.batch_size = 30;
    }
    let (m_slow, m_fast) = (mailer(&s_slow), mailer(&s_fast));
    let started = Instant::now();

    let (a, b) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(pass(&app, &m_slow, &s_slow), async {
            // Let the slow sender claim first; then pass after pass, as `serve` does, until
            // well after the slow one's claim would have run out.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut sum = SendSummary::default();
            while started.elapsed() < Duration::from_millis(3500) {
                let p = pass(&app, &m_fast, &s_fast).await;
                sum.claimed += p.claimed;
                sum.sent += p.sent;
                sum.claims_lost += p.claims_lost;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sum
        })
    })
    .await
    .unwrap_or_else(|_| panic!("the two passes did not end within 60 s"));

    let mut ids = slow.message_ids();
    ids.extend(fast.message_ids());
    let (total, distinct, most) = tally(&ids);
    eprintln!(
        "two senders on {:?}: {:.1} s, slow {a:?}, fast {b:?}, received {total}, distinct {distinct}",
        app.backend,
        started.elapsed().as_secs_f64()
    );
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the slow pass outlasted its claim"
    );
    assert_eq!(
        (total, distinct, most),
        (90, 90, 1),
        "0 lost, 0 duplicated: {a:?} {b:?}"
    );
    assert_eq!(a.sent + b.sent, 90, "{a:?} {b:?}");
    assert_eq!(a.claims_lost + b.claims_lost, 0);
    assert!(rows(&app).await.iter().all(|r| r.state == "sent"));
}

async fn a_server_that_never_answers_ends_the_pass_within_the_bound(app: TestApp) {
    queue(&app, 200).await;
    let sink = FaultSink::start(Mode::Hang).await;
    let mut s = settings_for(&app, sink.port);
    s.notify.connect_timeout_seconds = 1;
    s.notify.command_timeout_seconds = 1;
    s.notify.breaker_failures = 3;
    let m = mailer(&s);
    let bound = Duration::from_secs(3 * (1 + 1) + 4);

    let started = Instant::now();
    let first = tokio::time::timeout(bound, pass(&app, &m, &s))
        .await
        .unwrap_or_else(|_| panic!("the pass ran past {bound:?}"));
    let took = started.elapsed();
    let started = Instant::now();
    let probe = tokio::time::timeout(bound, pass(&app, &m, &s))
        .await
        .unwrap_or_else(|_| panic!("the probing pass ran past {bound:?}"));
    let probe_took = started.elapsed();

    eprintln!(
        "hanging server on {:?}: first pass {:.1} s {first:?}; next pass {:.1} s {probe:?}",
        app.backend,
        took.as_secs_f64(),
        probe_took.as_secs_f64()
    );
    assert!(first.stopped && first.sent == 0, "{first:?}");
    assert_eq!(
        first.claimed, 50,
        "one batch claimed, then the pass stopped"
    );
    assert_eq!(first.deferred, 50, "the whole batch went back: {first:?}");
    assert_eq!(
        (probe.claimed, probe.deferred, probe.stopped),
        (1, 1, true),
        "the next pass tries one message: {probe:?}"
    );
    let all = rows(&app).await;
    assert_eq!(all.len(), 200);
    assert!(
        all.iter()
            .all(|r| r.state == "pending" && r.attempts == 0 && r.claim_token.is_none()),
        "every message still pending, no attempt spent"
    );
    // With the default settings a pass against such a server costs at most 75 s (< 90 s).
    let d = avtal::config::NotifySettings::default();
    assert!(
        u64::from(d.breaker_failures) * (d.connect_timeout_seconds + d.command_timeout_seconds)
            <= 90
    );
}

async fn a_server_down_for_a_whole_pass_gets_everything_in_the_next_pass(app: TestApp) {
    queue(&app, 40).await;
    let port = crate::helpers::SmtpSink::free_port().await;
    let s = settings_for(&app, port);
    let m = mailer(&s);

    let down = pass(&app, &m, &s).await;
    assert!(down.stopped && down.sent == 0, "{down:?}");
    assert!(
        rows(&app)
            .await
            .iter()
            .all(|r| r.state == "pending" && r.attempts == 0),
        "nothing lost, no attempt spent, no backoff"
    );

    let sink = FaultSink::start_on(port, Mode::Accept(Duration::ZERO)).await;
    let up = pass(&app, &m, &s).await;

    let (total, distinct, _) = tally(&sink.message_ids());
    eprintln!(
        "SMTP down then up on {:?}: down {down:?}; up {up:?}",
        app.backend
    );
    assert_eq!(up.sent, 40, "{up:?}");
    assert_eq!((total, distinct), (40, 40));
    assert!(
        rows(&app)
            .await
            .iter()
            .all(|r| r.state == "sent" && r.attempts == 1)
    );
}

async fn a_sender_killed_mid_pass_loses_nothing(app: TestApp) {
    queue(&app, 40).await;
    let sink = FaultSink::start(Mode::Accept(Duration::from_millis(100))).await;
    let s = settings_for(&app, sink.port);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"));
    cmd.arg("--data-dir")
        .arg(&s.data_dir)
        .arg("notify")
        .env_remove("DATABASE_URL")
        .env("AVTAL_TODAY", "2026-11-22")
        .env("AVTAL_NOTIFY__CLAIM_SECONDS", "2")
        .env("AVTAL_NOTIFY__BATCH_SIZE", "10")
        .env("AVTAL_NOTIFY__SMTP__HOST", "127.0.0.1")
        .env("AVTAL_NOTIFY__SMTP__PORT", sink.port.to_string())
        .env("AVTAL_NOTIFY__SMTP__TLS", "none")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(url) = &s.database_url {
        cmd.env("DATABASE_URL", url.expose());
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start avtal notify: {e}"));
    let started = Instant::now();
    while sink.message_ids().len() < 8 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL: no chance to clean up.
    child
        .kill()
        .unwrap_or_else(|e| panic!("kill {}: {e}", child.id()));
    let _ = child.wait();
    let at_kill = started.elapsed();
    let before = sink.message_ids().len();
    assert!((8..40).contains(&before), "killed mid-pass: {before} sent");

    // The dead sender's claims expire; the next pass takes them over.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let m = mailer(&s);
    let after = pass(&app, &m, &s).await;

    let (total, distinct, most) = tally(&sink.message_ids());
    eprintln!(
        "kill -9 on {:?}: killed after {:.1} s with {before} received; next pass {after:?}; received {total}, distinct {distinct}",
        app.backend,
        at_kill.as_secs_f64()
    );
    assert_eq!(distinct, 40, "nothing lost");
    assert!(
        total - distinct <= 1 && most <= 2,
        "at most the message in flight twice"
    );
    assert!(rows(&app).await.iter().all(|r| r.state == "sent"));
}

async fn refused_messages_back_off_fail_and_are_queued_again_from_the_api(app: TestApp) {
    queue(&app, 5).await;
    let refusing = FaultSink::start(Mode::RefuseRecipients).await;
    let mut s = settings_for(&app, refusing.port);
    s.notify.max_attempts = 2;
    let m = mailer(&s);
    let now = Utc::now();

    let first = send_due(&app.registry.db, &m, &s.notify, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((first.retrying, first.stopped), (5, false), "{first:?}");
    for r in rows(&app).await {
        assert_eq!((r.state.as_str(), r.attempts), ("pending", 1));
        assert!(r.next_attempt_at > now, "a refusal backs off");
        let error = r.last_error.unwrap_or_default();
        assert!(error.contains("550") && !error.contains('@'), "{error}");
    }
    let second = send_due(
        &app.registry.db,
        &m,
        &s.notify,
        now + chrono::Duration::minutes(2),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.failed, 5, "{second:?}");

    let failed = app.get("/api/v1/outbox?state=failed").await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    let ids: Vec<i64> = failed
        .body
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 5);

    let one = app
        .post(
            &format!("/api/v1/outbox/{}/retry", ids[0]),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["queued"], serde_json::json!([ids[0]]));
    let again = app
        .post(
            &format!("/api/v1/outbox/{}/retry", ids[0]),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(
        again.status, 422,
        "a pending message is not failed: {}",
        again.body
    );
    assert!(
        again.body.to_string().contains("outbox_retry_failed_only"),
        "{}",
        again.body
    );
    assert_eq!(
        app.post("/api/v1/outbox/999999/retry", &serde_json::json!({}))
            .await
            .status,
        404
    );
    let rest = app
        .post("/api/v1/outbox/retry", &serde_json::json!({}))
        .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(rest.body["queued"].as_array().map(Vec::len), Some(4));
    let audited = avtal::db::entities::audit_log::Entity::find()
        .filter(avtal::db::entities::audit_log::Column::Action.eq("outbox.retry"))
        .count(&app.registry.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audited, 5, "one audit entry per message queued again");
    assert!(
        rows(&app)
            .await
            .iter()
            .all(|r| r.state == "pending" && r.attempts == 0)
    );

    drop(refusing);
    let sink = FaultSink::start(Mode::Accept(Duration::ZERO)).await;
    let s = settings_for(&app, sink.port);
    let delivered = pass(&app, &mailer(&s), &s).await;
    assert_eq!(delivered.sent, 5, "{delivered:?}");
}

async fn an_officer_queues_failed_e_mail_again_from_the_outbox_page(app: TestApp) {
    app.load_examples().await;
    queue(&app, 2).await;
    // A failed message of another organisation's agreement, which the officer does not see.
    let other = EmailAddress::parse("x@uppsala.example").unwrap_or_else(|e| panic!("{e}"));
    outbox::insert(
        &app.registry.db,
        NewMessage {
            dedupe_key: "fault/other".into(),
            reference: "AGR-2025-0001".into(),
            kind: "end".into(),
            to: vec![other],
            cc: Vec::new(),
            subject: "Annan organisation".into(),
            text: String::new(),
            html: String::new(),
            ics: String::new(),
            message_id: "<other@avtal.test>".into(),
        },
        Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let refusing = FaultSink::start(Mode::RefuseRecipients).await;
    let mut s = settings_for(&app, refusing.port);
    s.notify.max_attempts = 1;
    let failed = pass(&app, &mailer(&s), &s).await;
    assert_eq!(failed.failed, 3, "{failed:?}");

    app.create_user(
        "sara@haninge.example",
        Role::Officer,
        Some(OFFICER_ORG),
        "ett bra lösenord",
    )
    .await;
    let (officer, csrf) = app
        .browser_login("sara@haninge.example", "ett bra lösenord")
        .await;
    let start = officer
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        start.contains("href=\"/outbox\""),
        "the start page points to the outbox"
    );
    let page = officer
        .get(format!("{}/outbox", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("Kunde inte skickas") && page.contains("Påminnelse 0"),
        "{page}"
    );
    assert!(
        !page.contains("Annan organisation"),
        "only the officer's own agreements"
    );

    let done = officer
        .post(format!("{}/outbox/retry", app.address))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(
        done.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/outbox?queued=2")
    );
    let states: HashMap<String, String> = rows(&app)
        .await
        .into_iter()
        .map(|r| (r.dedupe_key, r.state))
        .collect();
    assert_eq!(states["fault/0"], "pending");
    assert_eq!(
        states["fault/other"], "failed",
        "another organisation's stays"
    );
    let without_csrf = officer
        .post(format!("{}/outbox/retry", app.address))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(without_csrf.status().as_u16(), 403);
}

#[tokio::test]
async fn the_cli_lists_and_queues_failed_e_mail_again() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    queue(&app, 3).await;
    let refusing = FaultSink::start(Mode::RefuseRecipients).await;
    let mut s = settings_for(&app, refusing.port);
    s.notify.max_attempts = 1;
    assert_eq!(pass(&app, &mailer(&s), &s).await.failed, 3);
    let id = rows(&app).await[0].id;
    let avtal = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"))
            .arg("--data-dir")
            .arg(&s.data_dir)
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap_or_else(|e| panic!("avtal {args:?}: {e}"));
        assert!(out.status.success(), "avtal {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let listed = avtal(&["outbox", "list"]);
    assert_eq!(listed.lines().count(), 4, "{listed}");
    let one = avtal(&["outbox", "retry", "--id", &id.to_string()]);
    assert!(one.starts_with("1 message(s) queued again"), "{one}");
    let all = avtal(&["outbox", "retry", "--failed"]);
    assert!(all.starts_with("2 message(s) queued again"), "{all}");
    assert!(rows(&app).await.iter().all(|r| r.state == "pending"));
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"))
        .arg("--data-dir")
        .arg(&s.data_dir)
        .args(["outbox", "retry", "--id", &id.to_string()])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !refused.status.success(),
        "a pending message cannot be queued again"
    );
}

crate::on_both_backends!(
    two_senders_whose_passes_outlast_the_claim_send_each_message_once,
    a_server_that_never_answers_ends_the_pass_within_the_bound,
    a_server_down_for_a_whole_pass_gets_everything_in_the_next_pass,
    a_sender_killed_mid_pass_loses_nothing,
    refused_messages_back_off_fail_and_are_queued_again_from_the_api,
    an_officer_queues_failed_e_mail_again_from_the_outbox_page,
);
