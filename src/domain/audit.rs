//! The audit log's pure part: the canonical form of an entry, its hash, verification of the hash
//! chain, point-in-time day bounds, and the field diff of two stored documents. No I/O here.
//!
//! Each entry's `hash` is the lower-case hex SHA-256 of [`canonical`]: a JSON array of every other
//! field, `prev_hash` included, with `before` and `after` as the exact stored JSON text. The first
//! entry's `prev_hash` is [`GENESIS_HASH`]. Ids run 1, 2, 3, ... without gaps.

use chrono::{DateTime, NaiveDate, SubsecRound, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position in the chain, from 1, without gaps.
    pub id: i64,
    /// When it was written (UTC, microseconds).
    pub at: DateTime<Utc>,
    /// Who: `api`, `cli`, `import`, later a user id or `link:<occurrence>`.
    pub actor: String,
    /// What, e.g. `agreement.create`, `agreement.exercise_option`, `document.create`.
    pub action: String,
    /// Kind of record: `organisation`, `contact`, `agreement`, `document`.
    pub entity_kind: String,
    /// Its key: org number, e-mail address, reference or document id.
    pub entity_key: String,
    /// The agreement the entry concerns (agreements and their documents), for filtering.
    pub agreement: Option<String>,
    /// The stored document before the change as JSON text (`None` for a create).
    pub before: Option<String>,
    /// The stored document after the change as JSON text.
    pub after: Option<String>,
    /// The previous entry's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 of [`canonical`], lower-case hex.
    pub hash: String,
}

/// What an audit entry records: one variant per kind of change. The stored text (`as_str`) is
/// `<entity kind>.<verb>` and never changes, since entries are hashed with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// An agreement was registered (API, page or import).
    AgreementCreate,
    /// An agreement was replaced (API, page or import).
    AgreementUpdate,
    /// A tacit renewal took effect (actor `system`).
    AgreementRenew,
    /// An agreement came into force.
    AgreementActivate,
    /// An agreement's status moved.
    AgreementTransition,
    /// An extension option was exercised.
    AgreementExerciseOption,
    /// An extension option was declined.
    AgreementDeclineOption,
    /// A notice (termination or non-renewal) was recorded.
    AgreementRecordNotice,
    /// An amendment was recorded.
    AgreementRecordAmendment,
    /// An agreement was cancelled.
    AgreementCancel,
    /// A report was handed in.
    AgreementSubmitReport,
    /// A report was accepted.
    AgreementAcceptReport,
    /// A report was sent back.
    AgreementRejectReport,
    /// A report request was acknowledged.
    AgreementAcknowledgeReport,
    /// The figures of a handed-in report were corrected by an officer.
    AgreementCorrectFigures,
    /// The signing date was set from an uploaded signed copy.
    AgreementRecordSignature,
    /// An organisation was registered.
    OrganisationCreate,
    /// An organisation was changed.
    OrganisationUpdate,
    /// A contact was registered.
    ContactCreate,
    /// A contact was changed.
    ContactUpdate,
    /// A user account was made.
    UserCreate,
    /// A user account was disabled.
    UserDisable,
    /// A user's password was set.
    UserPassword,
    /// An API token was made.
    ApiTokenCreate,
    /// An API token was revoked.
    ApiTokenRevoke,
    /// A report file was stored.
    ReportFileCreate,
    /// A calendar feed was made.
    CalendarFeedCreate,
    /// A calendar feed was revoked.
    CalendarFeedRevoke,
    /// A contract document was generated and stored.
    DocumentCreate,
    /// The signed copy of a contract document was uploaded.
    SignedCopyCreate,
    /// A generated document was recorded as sent for signature.
    SignatureRequestCreate,
    /// Failed e-mail was queued again.
    OutboxRetry,
}

impl Action {
    /// Every action, in the order of the enum.
    pub const ALL: &'static [Action] = &[
        Self::AgreementCreate,
        Self::AgreementUpdate,
        Self::AgreementRenew,
        Self::AgreementActivate,
        Self::AgreementTransition,
        Self::AgreementExerciseOption,
        Self::AgreementDeclineOption,
        Self::AgreementRecordNotice,
        Self::AgreementRecordAmendment,
        Self::AgreementCancel,
        Self::AgreementSubmitReport,
        Self::AgreementAcceptReport,
        Self::AgreementRejectReport,
        Self::AgreementAcknowledgeReport,
        Self::AgreementCorrectFigures,
        Self::AgreementRecordSignature,
        Self::OrganisationCreate,
        Self::OrganisationUpdate,
        Self::ContactCreate,
        Self::ContactUpdate,
        Self::UserCreate,
        Self::UserDisable,
        Self::UserPassword,
        Self::ApiTokenCreate,
        Self::ApiTokenRevoke,
        Self::ReportFileCreate,
        Self::CalendarFeedCreate,
        Self::CalendarFeedRevoke,
        Self::DocumentCreate,
        Self::SignedCopyCreate,
        Self::SignatureRequestCreate,
        Self::OutboxRetry,
    ];

    /// The text stored in the log, e.g. `agreement.exercise_option`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgreementCreate => "agreement.create",
            Self::AgreementUpdate => "agreement.update",
            Self::AgreementRenew => "agreement.renew",
            Self::AgreementActivate => "agreement.activate",
            Self::AgreementTransition => "agreement.transition",
            Self::AgreementExerciseOption => "agreement.exercise_option",
            Self::AgreementDeclineOption => "agreement.decline_option",
            Self::AgreementRecordNotice => "agreement.record_notice",
            Self::AgreementRecordAmendment => "agreement.record_amendment",
            Self::AgreementCancel => "agreement.cancel",
            Self::AgreementSubmitReport => "agreement.submit_report",
            Self::AgreementAcceptReport => "agreement.accept_report",
            Self::AgreementRejectReport => "agreement.reject_report",
            Self::AgreementAcknowledgeReport => "agreement.acknowledge_report",
            Self::AgreementCorrectFigures => "agreement.correct_figures",
            Self::AgreementRecordSignature => "agreement.record_signature",
            Self::OrganisationCreate => "organisation.create",
            Self::OrganisationUpdate => "organisation.update",
            Self::ContactCreate => "contact.create",
            Self::ContactUpdate => "contact.update",
            Self::UserCreate => "user.create",
            Self::UserDisable => "user.disable",
            Self::UserPassword => "user.password",
            Self::ApiTokenCreate => "api_token.create",
            Self::ApiTokenRevoke => "api_token.revoke",
            Self::ReportFileCreate => "report_file.create",
            Self::CalendarFeedCreate => "calendar_feed.create",
            Self::CalendarFeedRevoke => "calendar_feed.revoke",
            Self::DocumentCreate => "document.create",
            Self::SignedCopyCreate => "signed_copy.create",
            Self::SignatureRequestCreate => "signature_request.create",
            Self::OutboxRetry => "outbox.retry",
        }
    }

    /// The kind of record the action changes (`agreement`, `organisation`, ...).
    pub fn entity_kind(self) -> &'static str {
        let text = self.as_str();
        text.split_once('.').map_or(text, |(kind, _)| kind)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown audit action {s:?}; known: {}",
                    Self::ALL
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}

/// The instant the history of a record is read up to for "as of the end of `day`", on a registry
/// whose today is `today`: the end of that day in Sweden, except that a day on or after `today`
/// is the present (everything logged so far). Entries keep the real time they were written; on a
/// pinned today (`serve --demo`) a change made now is then part of the pinned day, as every other
/// view shows it, and a day before the pinned today reads the log by real time.
pub fn history_cutoff(day: NaiveDate, today: NaiveDate) -> DateTime<Utc> {
    if day >= today {
        end_of_log()
    } else {
        end_of_day(day)
    }
}

/// An instant after every entry the log can hold: the end of 9999-12-31 in Sweden. Not
/// `DateTime::MAX_UTC`: SQLite compares the stored times as text, and that one has six digits of
/// year.
pub fn end_of_log() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31).map_or(DateTime::<Utc>::MAX_UTC, end_of_day)
}

/// The timestamp precision of the log (microseconds, what PostgreSQL keeps).
pub fn truncate_at(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The canonical text of a timestamp: RFC 3339 in UTC with six fraction digits.
pub fn canonical_at(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

type CanonicalFields<'a> = (
    i64,
    String,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
);

fn canonical_fields(e: &Entry) -> CanonicalFields<'_> {
    (
        e.id,
        canonical_at(e.at),
        &e.actor,
        &e.action,
        &e.entity_kind,
        &e.entity_key,
        e.agreement.as_deref(),
        e.before.as_deref(),
        e.after.as_deref(),
        &e.prev_hash,
    )
}

/// The canonical serialisation of every field of `e` but `hash`: a compact JSON array
/// `[id, at, actor, action, entity_kind, entity_key, agreement, before, after, prev_hash]`, with
/// `before` and `after` as JSON strings holding the stored text, and null for an absent value.
pub fn canonical(e: &Entry) -> String {
    serde_json::to_string(&canonical_fields(e)).unwrap_or_default()
}

/// The hash `e` should carry: hex SHA-256 of [`canonical`] (streamed into the hasher).
pub fn compute_hash(e: &Entry) -> String {
    let mut hasher = Sha256::new();
    // Writing into a hasher cannot fail, and the fields are plain strings and numbers.
    let _ = serde_json::to_writer(&mut hasher, &canonical_fields(e));
    let digest = hasher.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How the chain was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An entry's content no longer matches its hash.
    Edited,
    /// An entry is missing: a gap in the ids, or a link to an entry that is gone.
    Deleted,
    /// Entries are out of order: a link to an entry elsewhere in the log, or time going backwards.
    Reordered,
}

/// The first problem found in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What happened.
    pub kind: ProblemKind,
    /// The entry named: the edited, the first missing, or the first misplaced one.
    pub id: i64,
    /// Explanation.
    pub message: String,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyOutcome {
    /// True when every entry checked out.
    pub intact: bool,
    /// Entries checked (all of them when intact).
    pub entries: u64,
    /// Hash of the last good entry ([`GENESIS_HASH`] when there is none).
    pub last_hash: String,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl std::fmt::Display for VerifyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "audit chain intact: {} entries, last hash {}",
                self.entries, self.last_hash
            ),
            Some(p) => write!(
                f,
                "audit chain broken at entry {} ({}): {}",
                p.id,
                match p.kind {
                    ProblemKind::Edited => "edited",
                    ProblemKind::Deleted => "deleted",
                    ProblemKind::Reordered => "reordered",
                },
                p.message
            ),
        }
    }
}

/// What one step of the verifier found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The entry is good.
    Ok,
    /// The entry shows a problem.
    Problem(Problem),
    /// The entry does not link to the one before it; [`Verifier::classify_unlinked`] names the
    /// problem once the caller knows which entry, if any, carries `prev_hash` as its hash.
    Unlinked {
        /// The entry.
        id: i64,
        /// Its `prev_hash`.
        prev_hash: String,
    },
}

/// Checks a chain one entry at a time, in id order, in constant memory.
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: Option<(i64, String, DateTime<Utc>)>,
    count: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier at the start of the chain.
    pub fn new() -> Self {
        Self {
            prev: None,
            count: 0,
        }
    }

    /// Checks the next entry (in id order): its id follows the previous one, it links to the
    /// previous hash, its own hash matches its content, and time does not go backwards.
    pub fn push(&mut self, e: &Entry) -> Step {
        let expected_id = self.prev.as_ref().map_or(1, |(id, _, _)| id + 1);
        if e.id > expected_id {
            let message = if e.id == expected_id + 1 {
                format!("entry {expected_id} is missing (the ids jump to {})", e.id)
            } else {
                format!(
                    "entries {expected_id} to {} are missing (the ids jump to {})",
                    e.id - 1,
                    e.id
                )
            };
            return Step::Problem(Problem {
                kind: ProblemKind::Deleted,
                id: expected_id,
                message,
            });
        }
        if e.id < expected_id {
            return Step::Problem(Problem {
                kind: ProblemKind::Reordered,
                id: e.id,
                message: format!("entry {} comes where entry {expected_id} should", e.id),
            });
        }
        let expected_prev = self
            .prev
            .as_ref()
            .map_or(GENESIS_HASH, |(_, h, _)| h.as_str());
        if e.prev_hash != expected_prev {
            return Step::Unlinked {
                id: e.id,
                prev_hash: e.prev_hash.clone(),
            };
        }
        if compute_hash(e) != e.hash {
            return Step::Problem(Problem {
                kind: ProblemKind::Edited,
                id: e.id,
                message: format!(
                    "entry {} ({} {} {}) does not match its hash: its content was changed",
                    e.id, e.action, e.entity_kind, e.entity_key
                ),
            });
        }
        if let Some((pid, _, pat)) = &self.prev
            && e.at < *pat
        {
            return Step::Problem(Problem {
                kind: ProblemKind::Reordered,
                id: e.id,
                message: format!(
                    "entry {} is dated {} but entry {pid} before it {}",
                    e.id,
                    canonical_at(e.at),
                    canonical_at(*pat)
                ),
            });
        }
        self.prev = Some((e.id, e.hash.clone(), e.at));
        self.count += 1;
        Step::Ok
    }

    /// Names the problem of an entry that does not link to its predecessor: if another entry of
    /// the log (at `found`) carries its `prev_hash`, entries were moved; otherwise the entry it
    /// linked to is gone.
    pub fn classify_unlinked(&self, id: i64, found: Option<i64>) -> Problem {
        let prev = self.prev.as_ref().map(|(p, _, _)| *p);
        match (found, prev) {
            (Some(q), Some(p)) => Problem {
                kind: ProblemKind::Reordered,
                id,
                message: format!(
                    "entry {id} follows entry {q} in the chain but is stored after entry {p}: entries were moved"
                ),
            },
            (Some(q), None) => Problem {
                kind: ProblemKind::Reordered,
                id,
                message: format!(
                    "entry {id} is stored first but follows entry {q} in the chain: entries were moved"
                ),
            },
            (None, Some(p)) => Problem {
                kind: ProblemKind::Deleted,
                id,
                message: format!(
                    "entry {id} does not link to entry {p} nor to any entry in the log: the entry it followed was deleted or replaced"
                ),
            },
            (None, None) => Problem {
                kind: ProblemKind::Deleted,
                id,
                message: format!(
                    "entry {id} is stored first but does not start the chain: the entries before it were deleted"
                ),
            },
        }
    }

    /// The outcome after the last entry, or at `problem`.
    pub fn finish(&self, problem: Option<Problem>) -> VerifyOutcome {
        VerifyOutcome {
            intact: problem.is_none(),
            entries: self.count,
            last_hash: self
                .prev
                .as_ref()
                .map_or_else(|| GENESIS_HASH.to_owned(), |(_, h, _)| h.clone()),
            problem,
        }
    }
}

/// Verifies a whole chain held in memory, in the order given (which should be id order).
pub fn verify(entries: &[Entry]) -> VerifyOutcome {
    let mut v = Verifier::new();
    for e in entries {
        match v.push(e) {
            Step::Ok => {}
            Step::Problem(p) => return v.finish(Some(p)),
            Step::Unlinked { id, prev_hash } => {
                let found = entries.iter().find(|x| x.hash == prev_hash).map(|x| x.id);
                let p = v.classify_unlinked(id, found);
                return v.finish(Some(p));
            }
        }
    }
    v.finish(None)
}

/// Links `e` to the chain after `prev_hash`: sets `prev_hash` and `hash`.
pub fn seal(mut e: Entry, prev_hash: &str) -> Entry {
    e.at = truncate_at(e.at);
    e.prev_hash = prev_hash.to_owned();
    e.hash = compute_hash(&e);
    e
}

fn stockholm_midnight_utc(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match chrono_tz::Europe::Stockholm.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        chrono::LocalResult::None => midnight.and_utc(),
    }
}

/// The first instant of `date` in Sweden (the service's time zone), in UTC.
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    stockholm_midnight_utc(date)
}

/// The first instant after `date` in Sweden, in UTC: "as of the end of `date`" means before this.
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, stockholm_midnight_utc)
}

/// One changed field between two versions of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// JSON path, e.g. `period.current_end` or `options[0].state`.
    pub path: String,
    /// The old value (`null` when added).
    pub old: Value,
    /// The new value (`null` when removed).
    pub new: Value,
}

/// The fields that differ between `old` and `new`, down to the leaves, in path order.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(
                    &join(path, k),
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                walk(
                    &format!("{path}[{i}]"),
                    a.get(i).unwrap_or(&Value::Null),
                    b.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if old != new => out.push(Change {
            path: path.to_owned(),
            old: old.clone(),
            new: new.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn history_is_read_by_real_time_before_today_and_to_the_present_from_today() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        let today = d(2026, 11, 22);
        assert_eq!(
            history_cutoff(d(2026, 11, 21), today),
            end_of_day(d(2026, 11, 21))
        );
        let present = history_cutoff(today, today);
        assert!(present > end_of_day(d(2100, 1, 1)));
        assert_eq!(history_cutoff(d(2026, 12, 5), today), present);
    }

    #[test]
    fn every_action_reads_back_from_its_text_and_names_its_kind() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
            assert!(a.as_str().starts_with(a.entity_kind()));
            assert_ne!(a.entity_kind(), a.as_str());
        }
        let texts: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(texts.len(), Action::ALL.len());
        assert_eq!(Action::AgreementRenew.entity_kind(), "agreement");
        assert_eq!(Action::ApiTokenRevoke.entity_kind(), "api_token");
        assert!("agreement.nonsense".parse::<Action>().is_err());
    }

    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for id in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_owned(), |e| e.hash.clone());
            let e = Entry {
                id,
                at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::seconds(id),
                actor: "api".into(),
                action: "agreement.update".into(),
                entity_kind: "agreement".into(),
                entity_key: format!("AGR-2026-{id:04}"),
                agreement: Some(format!("AGR-2026-{id:04}")),
                before: (id > 1).then(|| format!("{{\"n\":{}}}", id - 1)),
                after: Some(format!("{{\"n\":{id}}}")),
                prev_hash: String::new(),
                hash: String::new(),
            };
            out.push(seal(e, &prev));
        }
        out
    }

    #[test]
    fn the_canonical_form_is_a_plain_json_array() {
        let e = Entry {
            id: 7,
            at: Utc.with_ymd_and_hms(2026, 11, 23, 10, 5, 1).unwrap(),
            actor: "api".into(),
            action: "agreement.create".into(),
            entity_kind: "agreement".into(),
            entity_key: "AGR-2026-0007".into(),
            agreement: Some("AGR-2026-0007".into()),
            before: None,
            after: Some("{\"a\":\"ö\"}".into()),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let text = canonical(&e);
        assert_eq!(
            text,
            format!(
                "[7,\"2026-11-23T10:05:01.000000Z\",\"api\",\"agreement.create\",\"agreement\",\"AGR-2026-0007\",\"AGR-2026-0007\",null,\"{{\\\"a\\\":\\\"ö\\\"}}\",\"{GENESIS_HASH}\"]"
            )
        );
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(compute_hash(&e), expected);
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let c = chain(5);
        let v = verify(&c);
        assert!(v.intact, "{v}");
        assert_eq!(v.entries, 5);
        assert_eq!(v.last_hash, c[4].hash);
        assert_eq!(c[0].prev_hash, GENESIS_HASH);
        assert_eq!(c[0].hash.len(), 64);
        assert!(v.to_string().starts_with("audit chain intact: 5 entries"));
        assert!(verify(&[]).intact);
    }

    #[test]
    fn the_hash_covers_every_field() {
        let e = chain(1).remove(0);
        let variants = [
            Entry { id: 2, ..e.clone() },
            Entry {
                at: e.at + chrono::Duration::microseconds(1),
                ..e.clone()
            },
            Entry {
                actor: "cli".into(),
                ..e.clone()
            },
            Entry {
                action: "agreement.create".into(),
                ..e.clone()
            },
            Entry {
                entity_kind: "contact".into(),
                ..e.clone()
            },
            Entry {
                entity_key: "x".into(),
                ..e.clone()
            },
            Entry {
                agreement: None,
                ..e.clone()
            },
            Entry {
                before: Some("{}".into()),
                ..e.clone()
            },
            Entry {
                after: None,
                ..e.clone()
            },
            Entry {
                prev_hash: "1".repeat(64),
                ..e.clone()
            },
        ];
        for v in variants {
            assert_ne!(compute_hash(&v), e.hash, "{v:?}");
        }
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut c = chain(5);
        c[2].after = Some("{\"n\":99}".into());
        let v = verify(&c);
        let p = v.problem.unwrap();
        assert_eq!((p.kind, p.id), (ProblemKind::Edited, 3));
        assert_eq!(v.entries, 2);
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut c = chain(5);
        c.remove(2);
        let p = verify(&c).problem.unwrap();
        assert_eq!((p.kind, p.id), (ProblemKind::Deleted, 3));
        // Deleted and the ids renumbered to hide the gap: the link is gone.
        let mut c = chain(5);
        c.remove(2);
        for e in c.iter_mut().skip(2) {
            e.id -= 1;
        }
        let p = verify(&c).problem.unwrap();
        assert_eq!((p.kind, p.id), (ProblemKind::Deleted, 3));
        // The first entry deleted.
        let mut c = chain(3);
        c.remove(0);
        let p = verify(&c).problem.unwrap();
        assert_eq!((p.kind, p.id), (ProblemKind::Deleted, 1));
    }

    #[test]
    fn swapped_entries_are_named() {
        for (a, b) in [(1usize, 3usize), (2, 3), (0, 4)] {
            let mut c = chain(5);
            let (ia, ib) = (c[a].id, c[b].id);
            c.swap(a, b);
            c[a].id = ia;
            c[b].id = ib;
            let p = verify(&c).problem.unwrap();
            assert_eq!((p.kind, p.id), (ProblemKind::Reordered, ia), "{p:?}");
        }
    }

    #[test]
    fn time_going_backwards_is_a_reordering() {
        let mut c = chain(3);
        let prev = c[1].prev_hash.clone();
        c[1].at = c[0].at - chrono::Duration::seconds(5);
        c[1] = seal(c[1].clone(), &prev);
        let prev = c[1].hash.clone();
        c[2] = seal(c[2].clone(), &prev);
        let p = verify(&c).problem.unwrap();
        assert_eq!((p.kind, p.id), (ProblemKind::Reordered, 2));
    }

    #[test]
    fn timestamps_are_canonical_to_the_microsecond() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 5, 1).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(canonical_at(at), "2026-11-23T10:05:01.123456Z");
        assert_eq!(canonical_at(truncate_at(at)), canonical_at(at));
        assert_eq!(truncate_at(at).timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn days_are_swedish_days() {
        let d = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            end_of_day(d),
            Utc.with_ymd_and_hms(2026, 7, 1, 22, 0, 0).unwrap()
        );
        let d = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
        assert_eq!(
            start_of_day(d),
            Utc.with_ymd_and_hms(2026, 1, 9, 23, 0, 0).unwrap()
        );
    }

    #[test]
    fn diff_lists_changed_leaves_with_paths() {
        let old = json!({"title": "A", "period": {"start": "2026-01-01", "current_end": "2027-03-31"},
            "options": [{"seq": 1, "state": "open"}], "gone": 1});
        let new = json!({"title": "A", "period": {"start": "2026-01-01", "current_end": "2028-03-31"},
            "options": [{"seq": 1, "state": "exercised"}, {"seq": 2}], "added": true});
        let d = diff(&old, &new);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "added",
                "gone",
                "options[0].state",
                "options[1]",
                "period.current_end"
            ]
        );
        assert_eq!(d[4].old, json!("2027-03-31"));
        assert_eq!(d[4].new, json!("2028-03-31"));
        assert_eq!((&d[3].old, &d[3].new), (&Value::Null, &json!({"seq": 2})));
        assert!(diff(&old, &old).is_empty());
    }
}
