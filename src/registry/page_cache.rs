//! The per-user pages kept in memory: an organisation's start page deadlines and a contact's
//! calendar, per day, each under the registry's data version it was read at
//! (`db::audit::head_id`, as [`super::list_cache`] uses it: every write appends to the audit
//! chain in commit order) and with the fingerprint of the plans it was read from
//! (`db::plans::survey`: the stamps of the scope's plans, new with every plan written).
//! The same start page reloaded, or a calendar polled again, reads only the version while
//! nothing was written; after a write anywhere, on any instance on the database, it reads the
//! fingerprint, and only when the write touched one of its own agreements (the fingerprint
//! changed) its deadlines, and only those of the agreements whose stamps changed (a kept
//! page's deadlines carry their agreement's id). A page read on a new day starts from the one
//! kept on an earlier day in the same way ([`Found::EarlierDay`]): its deadlines are kept as
//! planned and derived again for the day.
//!
//! A page reads the version first ([`DataVersion`], one
//! [`SharedRead`](super::shared_read::SharedRead): the requests arriving together share one read
//! that started after they arrived, so a page shows every write its client saw committed), then
//! the fingerprint, then its deadlines: each read after the one before holds at least what that
//! one holds, so an entry is never older than its version, nor than its fingerprint.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use super::deadlines::{KeptDeadline, KeptStart};
use super::shared_read::DataVersion;
use crate::db::plans::Stamps;
use crate::db::store::StoreError;

/// Deadlines (start pages) and bytes (calendars, their deadlines counted as 512 bytes each) kept
/// at most; when either is full, the cache starts empty again. About 100 MiB in all.
const MAX_DEADLINES: usize = 100_000;
const MAX_CALENDAR_BYTES: usize = 64 * 1024 * 1024;

/// Whose start page: an organisation's (by id), or every agreement's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartScope {
    /// The agreements the organisation with this id is a party to.
    Party(i64),
    /// Every agreement.
    All,
}

/// A start page's key: whose, the day and the last day shown.
type StartKey = (StartScope, NaiveDate, NaiveDate);

/// A page as read under a version, with the fingerprint of what it was read from.
struct Entry<T> {
    version: i64,
    fingerprint: Option<Arc<Stamps>>,
    value: T,
}

/// Deadlines and agreements a start page holds.
fn start_size(s: &KeptStart) -> usize {
    s.shown.deadlines.len() + s.shown.behind.len() + s.deadlines.len()
}

/// A contact's calendar as kept: its text, and the deadlines it was made from, as planned (so
/// that after a write only the agreements written need reading, and on a later day only those
/// planned again).
#[derive(Debug, Clone)]
pub struct KeptCalendar {
    /// The iCalendar text.
    pub body: Arc<str>,
    /// In the pages' order.
    pub deadlines: Arc<Vec<KeptDeadline>>,
}

impl KeptCalendar {
    /// About the bytes it holds (a deadline as about 512).
    fn size(&self) -> usize {
        self.body.len() + self.deadlines.len() * 512
    }
}

/// What a look-up found.
#[derive(Debug)]
pub enum Found<T> {
    /// Kept under the version asked about: nothing was written since.
    Current(T),
    /// Kept under an earlier version, read from what had this fingerprint: still right if the
    /// page's fingerprint is the same now ([`PageCache::confirm_start`],
    /// [`PageCache::confirm_calendar`]).
    Earlier(Arc<Stamps>, T),
    /// Nothing for the day asked about, but kept for one of the seven days before it from
    /// stored plans only, read from what had this fingerprint: on the day asked about, the
    /// deadlines of the agreements whose plans are the same are still right as planned (and are
    /// derived again for the day).
    EarlierDay(Arc<Stamps>, T),
    /// Nothing usable.
    Nothing,
}

/// What is kept.
#[derive(Default)]
struct Kept {
    starts: HashMap<StartKey, Entry<KeptStart>>,
    /// By the contact's address and the day.
    calendars: HashMap<(String, NaiveDate), Entry<KeptCalendar>>,
    deadlines: usize,
    bytes: usize,
}

/// The cache of one instance (one [`super::Registry`] and its clones).
pub struct PageCache {
    version: DataVersion,
    kept: Mutex<Kept>,
}

impl fmt::Debug for PageCache {
    // Never the keys: they hold contacts' addresses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes = self
            .kept
            .lock()
            .map(|k| (k.starts.len(), k.calendars.len()))
            .ok();
        f.debug_struct("PageCache")
            .field("start pages, calendars", &sizes)
            .field("version", &self.version.last())
            .finish()
    }
}

impl Default for PageCache {
    fn default() -> Self {
        Self {
            version: DataVersion::default(),
            kept: Mutex::new(Kept::default()),
        }
    }
}

/// What `entry` offers a reader at `version`.
fn found<T: Clone>(entry: Option<&Entry<T>>, version: i64) -> Found<T> {
    match entry {
        Some(e) if e.version == version => Found::Current(e.value.clone()),
        Some(e) if e.version < version => match &e.fingerprint {
            Some(f) => Found::Earlier(f.clone(), e.value.clone()),
            None => Found::Nothing,
        },
        _ => Found::Nothing,
    }
}

/// Puts `entry` in `map` under `key` unless a later version's is there, keeping `used` (the sum
/// of the entries' `size`s) at most `max`: a value larger than that alone is not kept, and when
/// it would not fit the map starts empty again.
fn keep<K: std::hash::Hash + Eq, T>(
    map: &mut HashMap<K, Entry<T>>,
    used: &mut usize,
    max: usize,
    key: K,
    entry: Entry<T>,
    size: impl Fn(&T) -> usize,
) {
    let new = size(&entry.value);
    if new > max || map.get(&key).is_some_and(|e| e.version > entry.version) {
        return;
    }
    if *used + new > max {
        map.clear();
        *used = 0;
    }
    let old = map.insert(key, entry).map_or(0, |old| size(&old.value));
    *used = *used + new - old;
}

/// Marks the entry under `key`, kept under an earlier version, as right under `version` too (its
/// fingerprint was found unchanged after `version` was read).
fn confirm<K: std::hash::Hash + Eq, T>(map: &mut HashMap<K, Entry<T>>, key: &K, version: i64) {
    if let Some(e) = map.get_mut(key) {
        e.version = e.version.max(version);
    }
}

/// The start page of `scope` kept for the latest of the seven days before `today` (with a
/// horizon as many days before `horizon`), if it was made from stored plans only and read far
/// enough for `horizon`, with its fingerprint.
fn start_before(
    kept: &Kept,
    scope: StartScope,
    today: NaiveDate,
    horizon: NaiveDate,
) -> Option<(Arc<Stamps>, KeptStart)> {
    let (mut day, mut last) = (today, horizon);
    for _ in 0..7 {
        (day, last) = (day.pred_opt()?, last.pred_opt()?);
        if let Some(e) = kept.starts.get(&(scope, day, last)) {
            return match &e.fingerprint {
                Some(f) if e.value.reach >= horizon => Some((f.clone(), e.value.clone())),
                _ => None,
            };
        }
    }
    None
}

/// The calendar of the contact kept for the latest of the seven days before `today`, if it was
/// made from stored plans only, with its fingerprint.
fn calendar_before(
    kept: &Kept,
    email: &str,
    today: NaiveDate,
) -> Option<(Arc<Stamps>, KeptCalendar)> {
    let mut key = (email.to_owned(), today);
    for _ in 0..7 {
        key.1 = key.1.pred_opt()?;
        if let Some(e) = kept.calendars.get(&key) {
            return e.fingerprint.clone().map(|f| (f, e.value.clone()));
        }
    }
    None
}

impl PageCache {
    /// A cache that keeps nothing: every page reads its deadlines (benchmarks of that path).
    pub fn disabled() -> Self {
        Self {
            version: DataVersion::off(),
            ..Self::default()
        }
    }

    /// The data version as of a read that started after this call; `None` when disabled.
    pub async fn version(&self, db: &impl ConnectionTrait) -> Result<Option<i64>, StoreError> {
        self.version.get(db).await
    }

    /// The start page's deadlines of `scope` on `today` up to `horizon`, as kept; or one
    /// kept on an earlier day ([`Found::EarlierDay`]).
    pub fn start(
        &self,
        version: Option<i64>,
        scope: StartScope,
        today: NaiveDate,
        horizon: NaiveDate,
    ) -> Found<KeptStart> {
        let (Some(version), Ok(kept)) = (version, self.kept.lock()) else {
            return Found::Nothing;
        };
        match found(kept.starts.get(&(scope, today, horizon)), version) {
            Found::Nothing => start_before(&kept, scope, today, horizon)
                .map_or(Found::Nothing, |(then, k)| Found::EarlierDay(then, k)),
            other => other,
        }
    }

    /// Keeps a start page's deadlines, read after `version` was read from what had
    /// `fingerprint` (read before them).
    pub fn put_start(
        &self,
        version: Option<i64>,
        fingerprint: Option<Arc<Stamps>>,
        scope: StartScope,
        today: NaiveDate,
        horizon: NaiveDate,
        value: KeptStart,
    ) {
        let (Some(version), Ok(mut k)) = (version, self.kept.lock()) else {
            return;
        };
        let entry = Entry {
            version,
            fingerprint,
            value,
        };
        let k = &mut *k;
        let key = (scope, today, horizon);
        keep(
            &mut k.starts,
            &mut k.deadlines,
            MAX_DEADLINES,
            key,
            entry,
            start_size,
        );
    }

    /// Marks a start page kept under an earlier version as right under `version` too (its
    /// fingerprint was found unchanged after `version` was read).
    pub fn confirm_start(
        &self,
        version: Option<i64>,
        scope: StartScope,
        today: NaiveDate,
        horizon: NaiveDate,
    ) {
        if let (Some(version), Ok(mut k)) = (version, self.kept.lock()) {
            confirm(&mut k.starts, &(scope, today, horizon), version);
        }
    }

    /// The calendar of the contact with this address on `today`, as kept; or one kept on an
    /// earlier day ([`Found::EarlierDay`]).
    pub fn calendar(
        &self,
        version: Option<i64>,
        email: &str,
        today: NaiveDate,
    ) -> Found<KeptCalendar> {
        let (Some(version), Ok(kept)) = (version, self.kept.lock()) else {
            return Found::Nothing;
        };
        match found(kept.calendars.get(&(email.to_owned(), today)), version) {
            Found::Nothing => calendar_before(&kept, email, today)
                .map_or(Found::Nothing, |(then, c)| Found::EarlierDay(then, c)),
            other => other,
        }
    }

    /// Keeps a contact's calendar, made after `version` was read from what had `fingerprint`
    /// (read before it).
    pub fn put_calendar(
        &self,
        version: Option<i64>,
        fingerprint: Option<Arc<Stamps>>,
        email: &str,
        today: NaiveDate,
        value: KeptCalendar,
    ) {
        let (Some(version), Ok(mut k)) = (version, self.kept.lock()) else {
            return;
        };
        let entry = Entry {
            version,
            fingerprint,
            value,
        };
        let k = &mut *k;
        let key = (email.to_owned(), today);
        let size = KeptCalendar::size;
        keep(
            &mut k.calendars,
            &mut k.bytes,
            MAX_CALENDAR_BYTES,
            key,
            entry,
            size,
        );
    }

    /// Marks a calendar kept under an earlier version as right under `version` too.
    pub fn confirm_calendar(&self, version: Option<i64>, email: &str, today: NaiveDate) {
        if let (Some(version), Ok(mut k)) = (version, self.kept.lock()) {
            confirm(&mut k.calendars, &(email.to_owned(), today), version);
        }
    }

    /// Forgets everything: for a write that went around the use cases and left no audit entry
    /// (a bulk load into a running instance, a repair in SQL), which the version cannot see.
    pub fn clear(&self) {
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Kept::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::deadlines::{Behind, StartDeadlines};
    use super::*;
    use crate::domain::agreement::Reference;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
    }

    fn found(behind: &str) -> KeptStart {
        found_to(behind, day(30))
    }

    fn found_to(behind: &str, reach: NaiveDate) -> KeptStart {
        let reference = Reference::parse("AGR-2025-0001").ok();
        KeptStart {
            shown: Arc::new(StartDeadlines {
                deadlines: Vec::new(),
                behind: reference
                    .into_iter()
                    .map(|reference| Behind {
                        agreement_id: 1,
                        reference,
                        title: behind.to_owned(),
                    })
                    .collect(),
            }),
            deadlines: Arc::new(Vec::new()),
            reach,
        }
    }

    fn behind(s: Option<KeptStart>) -> Option<String> {
        s.and_then(|s| s.shown.behind.first().map(|b| b.title.clone()))
    }

    fn fp(n: i64) -> Option<Arc<Stamps>> {
        Some(Arc::new(Stamps(vec![(1, n)])))
    }

    fn cal(body: &str) -> KeptCalendar {
        KeptCalendar {
            body: Arc::from(body),
            deadlines: Arc::new(Vec::new()),
        }
    }

    fn body(f: Found<KeptCalendar>) -> Option<String> {
        current(f).map(|c| c.body.to_string())
    }

    fn current<T>(f: Found<T>) -> Option<T> {
        match f {
            Found::Current(v) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn a_start_page_is_current_only_under_its_version_for_its_scope_and_days() {
        let cache = PageCache::default();
        let (today, horizon) = (day(22), day(30));
        let put = |v, s| cache.put_start(Some(v), fp(7), s, today, horizon, found("a"));
        put(5, StartScope::Party(1));
        let get = |v, s, t, h| behind(current(cache.start(v, s, t, h)));
        assert_eq!(
            get(Some(5), StartScope::Party(1), today, horizon).as_deref(),
            Some("a")
        );
        assert_eq!(
            get(Some(6), StartScope::Party(1), today, horizon),
            None,
            "version"
        );
        assert_eq!(
            get(Some(4), StartScope::Party(1), today, horizon),
            None,
            "older version"
        );
        assert_eq!(
            get(None, StartScope::Party(1), today, horizon),
            None,
            "no version"
        );
        assert_eq!(
            get(Some(5), StartScope::Party(2), today, horizon),
            None,
            "party"
        );
        assert_eq!(get(Some(5), StartScope::All, today, horizon), None, "all");
        assert_eq!(
            get(Some(5), StartScope::Party(1), day(23), horizon),
            None,
            "day"
        );
        assert_eq!(
            get(Some(5), StartScope::Party(1), today, day(29)),
            None,
            "horizon"
        );
    }

    #[test]
    fn a_page_of_an_earlier_version_offers_its_fingerprint_until_confirmed() {
        let cache = PageCache::default();
        let (today, horizon) = (day(22), day(30));
        cache.put_start(Some(5), fp(7), StartScope::All, today, horizon, found("a"));
        assert!(matches!(
            cache.start(Some(6), StartScope::All, today, horizon),
            Found::Earlier(ref f, _) if Some(f.clone()) == fp(7)
        ));
        cache.confirm_start(Some(6), StartScope::All, today, horizon);
        assert!(matches!(
            cache.start(Some(6), StartScope::All, today, horizon),
            Found::Current(_)
        ));
        // Read from deadlines computed from documents: no fingerprint, nothing to confirm.
        cache.put_calendar(Some(5), None, "a@b.se", today, cal("five"));
        assert!(matches!(
            cache.calendar(Some(6), "a@b.se", today),
            Found::Nothing
        ));
        assert!(matches!(
            cache.calendar(Some(5), "a@b.se", today),
            Found::Current(_)
        ));
        cache.put_calendar(Some(6), fp(8), "a@b.se", today, cal("six"));
        assert!(matches!(
            cache.calendar(Some(9), "a@b.se", today),
            Found::Earlier(ref f, _) if Some(f.clone()) == fp(8)
        ));
        cache.confirm_calendar(Some(9), "a@b.se", today);
        assert_eq!(
            body(cache.calendar(Some(9), "a@b.se", today)).as_deref(),
            Some("six")
        );
    }

    #[test]
    fn an_older_version_never_replaces_a_later_one() {
        let cache = PageCache::default();
        let (today, horizon) = (day(22), day(30));
        cache.put_start(
            Some(6),
            fp(1),
            StartScope::All,
            today,
            horizon,
            found("six"),
        );
        cache.put_start(
            Some(5),
            fp(1),
            StartScope::All,
            today,
            horizon,
            found("five"),
        );
        assert_eq!(
            behind(current(cache.start(
                Some(6),
                StartScope::All,
                today,
                horizon
            )))
            .as_deref(),
            Some("six")
        );
        cache.put_calendar(Some(6), fp(1), "a@b.se", today, cal("six"));
        cache.put_calendar(Some(5), fp(1), "a@b.se", today, cal("five"));
        assert_eq!(
            body(cache.calendar(Some(6), "a@b.se", today)).as_deref(),
            Some("six")
        );
        assert!(
            matches!(cache.calendar(Some(6), "c@b.se", today), Found::Nothing),
            "contact"
        );
        // On another day it is never current: only offered as an earlier day's.
        assert!(
            matches!(
                cache.calendar(Some(6), "a@b.se", day(23)),
                Found::EarlierDay(..)
            ),
            "day"
        );
        cache.clear();
        assert!(
            matches!(cache.calendar(Some(6), "a@b.se", today), Found::Nothing),
            "cleared"
        );
        assert!(matches!(
            cache.start(Some(6), StartScope::All, today, horizon),
            Found::Nothing
        ));
    }

    #[test]
    fn a_full_cache_starts_empty_and_its_sizes_stay_true() {
        let cache = PageCache::default();
        let big = cal(&"x".repeat(MAX_CALENDAR_BYTES / 2 + 1));
        let put = |email: &str, value: &KeptCalendar| {
            cache.put_calendar(Some(1), fp(1), email, day(22), value.clone());
        };
        let kept = |email: &str| current(cache.calendar(Some(1), email, day(22))).is_some();
        put("a@b.se", &big);
        // Replacing an entry does not count it twice.
        put("a@b.se", &big);
        assert!(kept("a@b.se"));
        put("c@b.se", &big);
        assert!(!kept("a@b.se"), "emptied");
        assert!(kept("c@b.se"));
        let bytes = cache.kept.lock().map(|k| k.bytes).unwrap_or_default();
        assert_eq!(bytes, big.size());
        // Too large alone: not kept at all, and nothing else goes.
        put("e@b.se", &cal(&"x".repeat(MAX_CALENDAR_BYTES + 1)));
        assert!(!kept("e@b.se"));
        assert!(kept("c@b.se"));
    }

    #[test]
    fn a_calendar_of_an_earlier_day_is_offered_with_its_fingerprint_for_seven_days() {
        let cache = PageCache::default();
        cache.put_calendar(Some(5), fp(7), "a@b.se", day(20), cal("twenty"));
        cache.put_calendar(Some(5), fp(8), "a@b.se", day(21), cal("twenty-one"));
        let before = |email: &str, today| {
            let kept = cache.kept.lock().unwrap_or_else(|e| panic!("{e}"));
            calendar_before(&kept, email, today).map(|(f, c)| (f.0.clone(), c.body.to_string()))
        };
        // What `calendar` offers when nothing is kept for the day itself.
        assert!(matches!(
            cache.calendar(Some(5), "a@b.se", day(22)),
            Found::EarlierDay(_, ref c) if &*c.body == "twenty-one"
        ));
        assert!(matches!(
            cache.calendar(Some(5), "a@b.se", day(21)),
            Found::Current(_)
        ));
        // The latest earlier day, never the day itself.
        assert_eq!(
            before("a@b.se", day(22)),
            Some((vec![(1, 8)], "twenty-one".into()))
        );
        assert_eq!(
            before("a@b.se", day(21)),
            Some((vec![(1, 7)], "twenty".into()))
        );
        assert_eq!(before("a@b.se", day(20)), None);
        assert_eq!(
            before("a@b.se", day(28)).map(|b| b.1).as_deref(),
            Some("twenty-one")
        );
        assert_eq!(before("a@b.se", day(29)), None, "more than seven days back");
        assert_eq!(before("c@b.se", day(22)), None, "contact");
        // Made partly from documents: no fingerprint, not offered.
        cache.put_calendar(Some(6), None, "a@b.se", day(23), cal("twenty-three"));
        assert_eq!(before("a@b.se", day(24)), None);
    }

    #[test]
    fn a_start_page_of_an_earlier_day_is_offered_while_it_reaches_the_horizon() {
        let cache = PageCache::default();
        let scope = StartScope::Party(1);
        // Read on the 20th up to the 25th, with deadlines up to the 27th.
        cache.put_start(
            Some(5),
            fp(7),
            scope,
            day(20),
            day(25),
            found_to("a", day(27)),
        );
        let before = |today, horizon| {
            let kept = cache.kept.lock().unwrap_or_else(|e| panic!("{e}"));
            start_before(&kept, scope, today, horizon).map(|(f, k)| (f.0.clone(), behind(Some(k))))
        };
        assert!(matches!(
            cache.start(Some(5), scope, day(21), day(26)),
            Found::EarlierDay(..)
        ));
        assert_eq!(
            before(day(21), day(26)),
            Some((vec![(1, 7)], Some("a".into())))
        );
        assert_eq!(
            before(day(22), day(27)).map(|b| b.1),
            Some(Some("a".into()))
        );
        assert_eq!(before(day(23), day(28)), None, "beyond its reach");
        assert_eq!(before(day(21), day(27)), None, "another horizon");
        assert_eq!(before(day(20), day(25)), None, "the same day");
        assert!(matches!(
            cache.start(Some(5), StartScope::All, day(21), day(26)),
            Found::Nothing
        ));
        // Made partly from documents: no fingerprint, not offered.
        cache.put_start(
            Some(6),
            None,
            scope,
            day(21),
            day(26),
            found_to("b", day(40)),
        );
        assert_eq!(before(day(22), day(27)), None);
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = PageCache::disabled();
        cache.put_calendar(None, fp(1), "a@b.se", day(22), cal("x"));
        assert!(matches!(
            cache.calendar(None, "a@b.se", day(22)),
            Found::Nothing
        ));
    }
}
