//! Reminders by e-mail: the plan (`plan`: the pure deadline engine over every stored agreement
//! for one day), the sweep that queues the plan's reminders in the outbox under their dedupe
//! keys (`sweep`), and the sender that delivers the outbox (`mailer::send_due`).
//!
//! `message` renders the Swedish texts from `templates/emails/` (with the calendar file from
//! `crate::ics`); the queue's queries are `db::outbox`.

pub mod mailer;
pub mod message;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::outbox::{self, NewMessage};
use crate::links::token::LinkKey;
use mailer::{Clock, Mailer, SendSummary};
use message::{ReminderView, Templates};

use crate::db::store::{self, AgreementFilter, StoreError};
use crate::domain::deadlines::{
    Deadline, DeadlineKind, DeadlineState, DueReminder, ReminderLadders, deadlines,
    deadlines_for_sweep, due_reminders, most_urgent_first, next_sweep_day,
};
use crate::domain::party::EmailAddress;

/// What a sweep on one day would send.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The day swept.
    pub today: NaiveDate,
    /// Agreements read.
    pub agreements: u64,
    /// Deadlines still open that day, over every agreement.
    pub open_deadlines: usize,
    /// Reminders due that day, most urgent deadline first.
    pub reminders: Vec<DueReminder>,
    /// Every deadline of every agreement (not serialised; for callers that want more than the reminders).
    #[serde(skip)]
    pub deadlines: Vec<Deadline>,
    /// Agreement titles by reference (not serialised; for the messages).
    #[serde(skip)]
    pub titles: HashMap<String, String>,
    /// Per agreement read by a sweep: id, version read and the next day it must be read
    /// (`None`: never, until edited); empty for [`plan`] (not serialised).
    #[serde(skip)]
    pub next_days: Vec<(i64, i32, Option<NaiveDate>)>,
    /// Per agreement read by a sweep: its day as stored before the sweep (not serialised).
    #[serde(skip)]
    pub stored_days: HashMap<i64, Option<NaiveDate>>,
    /// Whether the sweep read every agreement because a full sweep was due (not serialised).
    #[serde(skip)]
    pub full_sweep: bool,
}

/// Output formats of `avtal notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotifyFormat {
    /// One block per reminder, for people.
    Text,
    /// The plan as JSON.
    Json,
}

/// Reads every agreement and works out the reminders due on `today`.
pub async fn plan(
    db: &impl ConnectionTrait,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Result<Plan, StoreError> {
    let mut all = Vec::new();
    let mut titles = HashMap::new();
    let agreements = store::for_each_agreement(db, &AgreementFilter::default(), 500, |a| {
        let found = deadlines(&a.data, today, ladders);
        if found.iter().any(|d| d.state == DeadlineState::Open) {
            titles.insert(a.data.reference.as_str().to_owned(), a.data.title.clone());
        }
        all.extend(found);
        Ok(())
    })
    .await?;
    let reminders = due_reminders(&all, today, ladders);
    Ok(Plan {
        today,
        agreements,
        open_deadlines: all
            .iter()
            .filter(|d| d.state == DeadlineState::Open)
            .count(),
        reminders,
        deadlines: all,
        titles,
        next_days: Vec::new(),
        stored_days: HashMap::new(),
        full_sweep: false,
    })
}

/// Agreements read and worked on per chunk of a sweep.
pub const SWEEP_CHUNK: usize = 1_000;

/// What a sweep found in one chunk of agreements.
#[derive(Default)]
struct ChunkPlan {
    read: u64,
    open_deadlines: usize,
    reminders: Vec<DueReminder>,
    kept: Vec<Deadline>,
    titles: HashMap<String, String>,
    next_days: Vec<(i64, i32, Option<NaiveDate>)>,
}

/// Runs the engine over one chunk of stored agreements (CPU only, no I/O).
fn plan_chunk(
    rows: Vec<crate::db::sweep::SweepRow>,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Result<ChunkPlan, StoreError> {
    let mut out = ChunkPlan::default();
    for a in crate::db::sweep::decode(rows)? {
        out.read += 1;
        let found = deadlines_for_sweep(&a.data, today, ladders);
        out.next_days
            .push((a.id, a.version, next_sweep_day(&found, today)));
        out.open_deadlines += found
            .iter()
            .filter(|d| d.state == DeadlineState::Open)
            .count();
        let due = due_reminders(&found, today, ladders);
        if due.is_empty() {
            continue;
        }
        out.titles
            .insert(a.data.reference.as_str().to_owned(), a.data.title.clone());
        out.kept.extend(
            found
                .into_iter()
                .filter(|d| due.iter().any(|r| r.deadline == d.date && r.key.is_of(d))),
        );
        out.reminders.extend(due);
    }
    Ok(out)
}

/// The plan a sweep needs, built leaner than [`plan`]: only the agreements whose next sweep day
/// has come (or is unknown) are read (see `db::sweep` and [`next_sweep_day`]), only the
/// deadlines that can still give a reminder are built (see [`deadlines_for_sweep`]), and only
/// the deadlines of the due reminders are kept (`open_deadlines` counts the deadlines built).
/// The agreements are read in chunks of [`SWEEP_CHUNK`], twice as many at once as the machine
/// has cores, and put together in id order. Call `db::sweep::prepare` first.
pub async fn plan_for_sweep(
    db: &DatabaseConnection,
    today: NaiveDate,
    ladders: &ReminderLadders,
) -> Result<Plan, StoreError> {
    // Twice as many chunks in flight as cores, so one chunk's reading overlaps another's engine
    // work on every core (100,000 agreements on 2 cores: 2.38 s on one worker, 1.48 s on two,
    // 1.28 s on four; BENCHMARKS.md).
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    plan_for_sweep_in_chunks(db, today, ladders, SWEEP_CHUNK, 2 * cores).await
}

/// [`plan_for_sweep`] with `chunk` agreements per chunk and `workers` chunks in flight (each
/// chunk read by its own task and worked on by a blocking thread, so reading the next chunks
/// overlaps the engine's work on this one).
pub async fn plan_for_sweep_in_chunks(
    db: &DatabaseConnection,
    today: NaiveDate,
    ladders: &ReminderLadders,
    chunk: usize,
    workers: usize,
) -> Result<Plan, StoreError> {
    let due = crate::db::sweep::due_ids(db, today).await?;
    let ids: Vec<i64> = due.agreements.iter().map(|(id, _)| *id).collect();
    let joined = |e: tokio::task::JoinError| -> StoreError {
        crate::error::Unexpected(format!("a sweep worker stopped: {e}")).into()
    };
    let mut chunks = ids.chunks(chunk.max(1));
    let mut running = std::collections::VecDeque::new();
    let mut plan = Plan {
        today,
        agreements: 0,
        open_deadlines: 0,
        reminders: Vec::new(),
        deadlines: Vec::new(),
        titles: HashMap::new(),
        next_days: Vec::with_capacity(ids.len()),
        stored_days: due.agreements.into_iter().collect(),
        full_sweep: due.full,
    };
    loop {
        while running.len() < workers.max(1) {
            let Some(ids) = chunks.next() else { break };
            let (db, ids, ladders) = (db.clone(), ids.to_vec(), ladders.clone());
            running.push_back(tokio::spawn(async move {
                let rows = crate::db::sweep::load(&db, &ids).await?;
                tokio::task::spawn_blocking(move || plan_chunk(rows, today, &ladders))
                    .await
                    .map_err(joined)?
            }));
        }
        // In order of the chunks, so the plan is the same however the work was split.
        let Some(next) = running.pop_front() else {
            break;
        };
        let part = next.await.map_err(joined)??;
        plan.agreements += part.read;
        plan.open_deadlines += part.open_deadlines;
        plan.reminders.extend(part.reminders);
        plan.deadlines.extend(part.kept);
        plan.titles.extend(part.titles);
        plan.next_days.extend(part.next_days);
    }
    most_urgent_first(&mut plan.reminders);
    Ok(plan)
}

/// The plan as text: a summary line, then one block per reminder saying what, when, why and to whom.
pub fn render_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} reminder(s) due on {} ({} agreements, {} open deadlines); dry run, nothing was sent",
        plan.reminders.len(),
        plan.today,
        plan.agreements,
        plan.open_deadlines
    );
    for r in &plan.reminders {
        let state = r
            .report_state
            .map(|st| format!(" [{st}]"))
            .unwrap_or_default();
        let join = |v: &[EmailAddress]| v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            s,
            "\n{} {} {}: {}{}",
            r.reference, r.kind, r.deadline, r.what, state
        );
        let _ = writeln!(
            s,
            "  step {} planned for {}; {} acts",
            r.step,
            r.date,
            serde_json::to_value(r.actor)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        );
        if r.recipients.to.is_empty() {
            let _ = writeln!(
                s,
                "  to: nobody: register a contract owner for {}",
                r.reference
            );
        } else {
            let _ = writeln!(s, "  to: {}", join(&r.recipients.to));
        }
        if !r.recipients.cc.is_empty() {
            let _ = writeln!(s, "  cc: {}", join(&r.recipients.cc));
        }
        let _ = writeln!(s, "  key: {}", r.key);
    }
    s
}

/// Errors of a sweep or a send pass.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Reading the agreements failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The outbox could not be read or written.
    #[error("outbox: {0}")]
    Db(#[from] DbErr),
    /// A template failed to render.
    #[error(transparent)]
    Template(#[from] message::TemplateError),
    /// The e-mail settings are unusable.
    #[error("e-mail settings: {0}")]
    Config(String),
    /// Something else failed unexpectedly.
    #[error(transparent)]
    Unexpected(#[from] crate::error::Unexpected),
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    /// Agreements read: those whose next sweep day has come (the others have nothing new due).
    pub read: u64,
    /// Reminders due that day, of the agreements read.
    pub due: usize,
    /// Messages queued now.
    pub queued: usize,
    /// Reminders already queued or sent by an earlier sweep.
    pub already_queued: usize,
    /// Reminders with nobody to send them to (no contract owner registered).
    pub no_recipient: usize,
    /// How long each part took (not serialised).
    #[serde(skip)]
    pub phases: SweepPhases,
}

/// How long the parts of a sweep took: where its time goes, for the log and the benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepPhases {
    /// Checking the stored days against the ladders and the day (marking a full sweep due).
    pub prepare: std::time::Duration,
    /// Reading the due agreements and running the engine over them.
    pub plan: std::time::Duration,
    /// Looking up which due reminders were queued before.
    pub lookups: std::time::Duration,
    /// Rendering and queueing the new messages.
    pub queue: std::time::Duration,
    /// Of `queue`, the time spent rendering (the rest waited on the database).
    pub render: std::time::Duration,
    /// Storing each agreement's next sweep day.
    pub store_days: std::time::Duration,
}

/// Changes whenever the deadline engine changes what it picks, so the stored sweep days are
/// recomputed (with the ladders, the fingerprint `db::sweep::prepare` compares).
const SWEEP_ENGINE: &str = "sweep-engine-1";

/// Messages queued in one transaction by a sweep.
const QUEUE_BATCH: usize = 200;

/// A stable, unique Message-ID, fixed when the row is created.
fn message_id(key: &str, now: DateTime<Utc>, domain: &str) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(now.timestamp_nanos_opt().unwrap_or_default().to_be_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}.{}@{domain}>", now.timestamp())
}

/// What a sweep writes messages with, loaded once at start: the e-mail templates and the key
/// that signs the links in report reminders.
#[derive(Debug)]
pub struct Composer {
    /// The compiled e-mail templates.
    pub templates: Templates,
    /// The link-signing key; without one, report reminders go out without links.
    pub link_key: Option<LinkKey>,
}

impl Composer {
    /// Compiles the templates and loads (or makes) the link key; a missing key is logged once.
    pub fn new(settings: &Settings) -> Result<Self, NotifyError> {
        let link_key = match crate::links::key::load_or_create(settings) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::error!(error = %e, "no link-signing key: report reminders go out without links");
                None
            }
        };
        Ok(Self {
            templates: Templates::new()?,
            link_key,
        })
    }
}

/// Queues the reminders due on `today` in the outbox: one message per reminder (inserted
/// `QUEUE_BATCH` rows per statement and transaction), or with `notify.digest` one per recipient
/// and day. Each insert is `ON CONFLICT (dedupe_key) DO NOTHING`, so a second sweep, or two at
/// once, never queue a message twice. Only agreements whose next sweep day has come are read.
pub async fn sweep(
    db: &DatabaseConnection,
    settings: &Settings,
    composer: &Composer,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<SweepSummary, NotifyError> {
    let templates = &composer.templates;
    let fingerprint = format!(
        "{SWEEP_ENGINE} {}",
        serde_json::to_string(&settings.reminders).unwrap_or_default()
    );
    let mut phases = SweepPhases::default();
    let mut clock = std::time::Instant::now();
    let mut lap = || {
        let now = std::time::Instant::now();
        let took = now - clock;
        clock = now;
        took
    };
    crate::db::sweep::prepare(db, today, &fingerprint).await?;
    phases.prepare = lap();
    let plan = plan_for_sweep(db, today, &settings.reminders).await?;
    phases.plan = lap();
    let domain = settings
        .notify
        .from
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email.domain().to_owned())
        .unwrap_or_else(|_| "avtal.localhost".to_owned());
    let mut summary = SweepSummary {
        read: plan.agreements,
        due: plan.reminders.len(),
        ..SweepSummary::default()
    };
    // The reminders' keys as stored, in the plan's order.
    let keys: Vec<String> = plan.reminders.iter().map(|r| r.key.to_string()).collect();
    let queued = outbox::queued_keys(db, &keys).await?;
    let digested = outbox::digested(db, &keys).await?;
    phases.lookups = lap();
    // Report reminders carry signed links; without a key they go out without them.
    let link_key = composer.link_key.as_ref();
    // The deadline of each due reminder, found in one pass over the plan.
    let wanted: HashSet<(&str, DeadlineKind, NaiveDate)> = plan
        .reminders
        .iter()
        .map(|r| (r.reference.as_str(), r.kind, r.deadline))
        .collect();
    let mut of_reminder: HashMap<(&str, DeadlineKind, NaiveDate), Vec<&Deadline>> = HashMap::new();
    for d in &plan.deadlines {
        let k = (d.reference.as_str(), d.kind, d.date);
        if wanted.contains(&k) {
            of_reminder.entry(k).or_default().push(d);
        }
    }
    let view = |r: &DueReminder| {
        let deadline = of_reminder
            .get(&(r.reference.as_str(), r.kind, r.deadline))
            .and_then(|ds| ds.iter().copied().find(|d| r.key.is_of(d)));
        let report = deadline.and_then(|d| d.report.as_ref());
        let title = plan
            .titles
            .get(r.reference.as_str())
            .map(String::as_str)
            .unwrap_or_default();
        let mut v = ReminderView::new(r, title, report, today);
        if let (Some(key), Some(d), Some(o)) = (link_key, deadline, report) {
            let label = d
                .occurrence
                .rsplit_once(':')
                .map(|(label, _)| label)
                .unwrap_or(&o.kind);
            let links =
                crate::links::report_links(key, settings, &r.reference, label, o.period_end, today);
            v.ack_url = Some(links.acknowledge);
            v.upload_url = Some(links.upload);
        }
        v
    };

    if !settings.notify.digest {
        // Which reminders need a message (cheap), then the messages rendered on every core, a
        // slice at a time, and queued in order.
        let mut todo = Vec::new();
        for (r, key) in plan.reminders.iter().zip(&keys) {
            let (to, cc) = (&r.recipients.to, &r.recipients.cc);
            if to.is_empty() {
                summary.no_recipient += 1;
                tracing::warn!(reference = %r.reference, kind = %r.kind, "a reminder has nobody to go to: register a contract owner");
                continue;
            }
            if queued.contains(key)
                || to
                    .iter()
                    .chain(cc)
                    .all(|a| digested.contains(&(key.clone(), a.as_str().to_owned())))
            {
                summary.already_queued += 1;
                continue;
            }
            todo.push((r, key));
        }
        let message = |r: &DueReminder, key: &String| -> Result<NewMessage, NotifyError> {
            let content = templates.reminder(&view(r), now)?;
            Ok(NewMessage {
                dedupe_key: key.clone(),
                reference: r.reference.as_str().to_owned(),
                kind: r.kind.code().to_owned(),
                to: r.recipients.to.clone(),
                cc: r.recipients.cc.clone(),
                subject: content.subject,
                text: content.text,
                html: content.html,
                ics: content.ics,
                message_id: message_id(key, now, &domain),
            })
        };
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        // Each slice is queued by a task of its own while the next slice renders, so the
        // database's work overlaps the rendering; the slices are still queued in order.
        let mut queueing: Option<tokio::task::JoinHandle<Result<Queued, DbErr>>> = None;
        for slice in todo.chunks(RENDER_SLICE) {
            let started = std::time::Instant::now();
            let rendered = render_in_parallel(slice, workers, &message);
            phases.render += started.elapsed();
            let earlier = match queueing.take() {
                Some(task) => Some(joined(task).await),
                None => None,
            };
            let rendered = rendered?;
            if let Some(done) = earlier {
                done?.add_to(&mut summary);
            }
            let db = db.clone();
            queueing = Some(tokio::spawn(async move {
                queue_slice(&db, rendered, now).await
            }));
        }
        if let Some(task) = queueing {
            joined(task).await?.add_to(&mut summary);
        }
        phases.queue = lap();
        // Only after everything due was queued: a failed sweep leaves the days as they were.
        store_days(db, &plan, today, &fingerprint).await?;
        phases.store_days = lap();
        summary.phases = phases;
        return Ok(summary);
    }

    // Digest: every recipient's reminders of the day, most urgent first (the plan's order).
    let mut per_recipient: BTreeMap<&EmailAddress, Vec<(&DueReminder, &String, bool)>> =
        BTreeMap::new();
    for (r, key) in plan.reminders.iter().zip(&keys) {
        let (to, cc) = (&r.recipients.to, &r.recipients.cc);
        if to.is_empty() {
            summary.no_recipient += 1;
            continue;
        }
        let mut fresh = false;
        for (addr, copy) in to
            .iter()
            .map(|a| (a, false))
            .chain(cc.iter().map(|a| (a, true)))
        {
            if queued.contains(key) || digested.contains(&(key.clone(), addr.as_str().to_owned())) {
                continue;
            }
            fresh = true;
            per_recipient.entry(addr).or_default().push((r, key, copy));
        }
        if !fresh {
            summary.already_queued += 1;
        }
    }
    for (addr, items) in per_recipient {
        let base = format!("digest/{addr}/{today}");
        // The day's first digest has the plain key. Reminders that became due after it went out
        // get a second digest keyed by their own keys, so concurrent sweeps still agree on it.
        for attempt in 0..2 {
            let tx = crate::db::begin_write(db).await?;
            let keys: Vec<String> = items.iter().map(|(_, k, _)| (*k).clone()).collect();
            let done = outbox::digested(&tx, &keys).await?;
            let fresh: Vec<&(&DueReminder, &String, bool)> = items
                .iter()
                .filter(|(_, k, _)| !done.contains(&((*k).clone(), addr.as_str().to_owned())))
                .collect();
            if fresh.is_empty() {
                tx.commit().await?;
                break;
            }
            let fresh_keys: Vec<String> = fresh.iter().map(|(_, k, _)| (*k).clone()).collect();
            let key = if attempt == 0 {
                base.clone()
            } else {
                let mut h = Sha256::new();
                for k in &fresh_keys {
                    h.update(k.as_bytes());
                    h.update(b"\n");
                }
                let hex: String = h
                    .finalize()
                    .iter()
                    .take(8)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{base}/{hex}")
            };
            let views: Vec<ReminderView> = fresh
                .iter()
                .map(|(r, _, copy)| ReminderView {
                    copy: *copy,
                    ..view(r)
                })
                .collect();
            let content = templates.digest(today, &views, now)?;
            let created = outbox::insert(
                &tx,
                NewMessage {
                    message_id: message_id(&key, now, &domain),
                    dedupe_key: key,
                    reference: "digest".to_owned(),
                    kind: "digest".to_owned(),
                    to: vec![(*addr).clone()],
                    cc: Vec::new(),
                    subject: content.subject,
                    text: content.text,
                    html: content.html,
                    ics: content.ics,
                },
                now,
            )
            .await?;
            if let Some(id) = created {
                outbox::record_digest_items(&tx, id, addr.as_str(), &fresh_keys).await?;
                summary.queued += 1;
                tx.commit().await?;
                break;
            }
            tx.commit().await?;
        }
    }
    phases.queue = lap();
    store_days(db, &plan, today, &fingerprint).await?;
    phases.store_days = lap();
    summary.phases = phases;
    Ok(summary)
}

/// Stores the next days of a sweep's plan (from [`plan_for_sweep`]) that differ from those
/// stored; if the sweep was a full one, records it done (so it is no longer due).
pub async fn store_days(
    db: &DatabaseConnection,
    plan: &Plan,
    today: NaiveDate,
    fingerprint: &str,
) -> Result<(), DbErr> {
    let changed: Vec<(i64, i32, Option<NaiveDate>)> = plan
        .next_days
        .iter()
        .filter(|(id, _, next)| {
            !plan
                .stored_days
                .get(id)
                .is_some_and(|stored| crate::db::sweep::unchanged(*stored, *next))
        })
        .copied()
        .collect();
    crate::db::sweep::set_next(db, &changed).await?;
    if plan.full_sweep {
        crate::db::sweep::finish(db, today, fingerprint).await?;
    }
    Ok(())
}

/// Reminders rendered together (then queued `QUEUE_BATCH` at a time).
const RENDER_SLICE: usize = 4 * QUEUE_BATCH;

/// Renders `todo` with `render` on up to `workers` threads, in order; off the async runtime's
/// worker when it has others to run the rest meanwhile.
fn render_in_parallel<'a, F>(
    todo: &[(&'a DueReminder, &'a String)],
    workers: usize,
    render: &F,
) -> Result<Vec<NewMessage>, NotifyError>
where
    F: Fn(&DueReminder, &String) -> Result<NewMessage, NotifyError> + Sync,
{
    let serial = |part: &[(&DueReminder, &String)]| -> Result<Vec<NewMessage>, NotifyError> {
        part.iter().map(|(r, k)| render(r, k)).collect()
    };
    // A few messages render faster than threads start.
    if workers <= 1 || todo.len() < 64 {
        return serial(todo);
    }
    let per = todo.len().div_ceil(workers);
    let parallel = || {
        std::thread::scope(|scope| {
            let parts: Vec<_> = todo
                .chunks(per)
                .map(|part| scope.spawn(move || serial(part)))
                .collect();
            let mut out = Vec::with_capacity(todo.len());
            for part in parts {
                let rendered = part.join().map_err(|_| {
                    NotifyError::Unexpected(crate::error::Unexpected(
                        "a thread rendering reminders stopped".to_owned(),
                    ))
                })??;
                out.extend(rendered);
            }
            Ok(out)
        })
    };
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(parallel),
        _ => parallel(),
    }
}

/// Messages a slice created, and those whose key was queued already.
#[derive(Debug, Clone, Copy, Default)]
struct Queued {
    created: usize,
    existed: usize,
}

impl Queued {
    fn add_to(self, summary: &mut SweepSummary) {
        summary.queued += self.created;
        summary.already_queued += self.existed;
    }
}

/// Waits for a task queueing a slice; a task that panicked is an unexpected error.
async fn joined(
    task: tokio::task::JoinHandle<Result<Queued, DbErr>>,
) -> Result<Queued, NotifyError> {
    match task.await {
        Ok(queued) => Ok(queued?),
        Err(e) => Err(NotifyError::Unexpected(crate::error::Unexpected(format!(
            "the task queueing reminders stopped: {e}"
        )))),
    }
}

/// Queues rendered messages `QUEUE_BATCH` at a time, one transaction per batch.
async fn queue_slice(
    db: &DatabaseConnection,
    mut rendered: Vec<NewMessage>,
    now: DateTime<Utc>,
) -> Result<Queued, DbErr> {
    let mut queued = Queued::default();
    while !rendered.is_empty() {
        let rest = rendered.split_off(rendered.len().min(QUEUE_BATCH));
        let n = rendered.len();
        let tx = crate::db::begin_write(db).await?;
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            // Not waiting for the disk here (a flush per batch, about 3.5 ms each on this
            // project's machines: 0.45 s of a sweep queueing 25,000 messages) loses nothing:
            // every later commit that waits, the sender's claim of a message or this sweep's
            // stored days, flushes the log up to itself and so these rows too; a crash before
            // then leaves the days unstored, and the next sweep queues the messages again.
            tx.execute_unprepared("SET LOCAL synchronous_commit TO OFF")
                .await?;
        }
        let created = outbox::insert_many(&tx, std::mem::take(&mut rendered), now).await?;
        tx.commit().await?;
        let created = usize::try_from(created).unwrap_or(n).min(n);
        queued.created += created;
        queued.existed += n - created;
        rendered = rest;
    }
    Ok(queued)
}

/// What one run (sweep + send) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The sweep.
    pub sweep: SweepSummary,
    /// The send pass.
    pub send: SendSummary,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} reminder(s) due in {} agreement(s) read: {} queued, {} already queued, {} without recipient; {} message(s) sent, {} to retry, {} failed, {} left pending (server unreachable)",
            self.sweep.due,
            self.sweep.read,
            self.sweep.queued,
            self.sweep.already_queued,
            self.sweep.no_recipient,
            self.send.sent,
            self.send.retrying,
            self.send.failed,
            self.send.deferred
        )
    }
}

/// One sweep for `today` at the clock's time, then one send pass; logs a summary line.
pub async fn run_once(
    db: &DatabaseConnection,
    settings: &Settings,
    composer: &Composer,
    mailer: &Mailer,
    today: NaiveDate,
    clock: impl Clock,
) -> Result<RunSummary, NotifyError> {
    let sweep = sweep(db, settings, composer, today, clock.now()).await?;
    let send = mailer::send_due(db, mailer, &settings.notify, clock).await?;
    let summary = RunSummary { sweep, send };
    tracing::info!(%today, due = sweep.due, queued = sweep.queued, sent = send.sent, retrying = send.retrying, failed = send.failed, deferred = send.deferred, "notify run: {summary}");
    Ok(summary)
}
