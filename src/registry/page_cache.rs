//! The per-user pages' deadlines kept in memory: an organisation's start page and a contact's
//! calendar, per day, under the registry's data version (`db::audit::head_id`, as
//! [`super::list_cache`] uses it: every write appends to the audit chain in commit order). The
//! same start page reloaded, or a calendar polled again, reads only the version while nothing was
//! written; any write, on any instance on the database, makes every entry stale.
//!
//! A page reads the version first ([`SharedRead`]: the requests arriving together share one read
//! that started after they arrived, so a page shows every write its client saw committed), then
//! its deadlines when it has no entry: what is read after the version holds at least what that
//! version holds, so an entry is never older than its version.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use super::deadlines::StartDeadlines;
use super::shared_read::SharedRead;
use crate::db::audit;
use crate::db::store::StoreError;

/// Deadlines (start pages) and bytes (calendars) kept at most; when either is full, the cache
/// starts empty again. About 64 MiB in all.
const MAX_DEADLINES: usize = 100_000;
const MAX_CALENDAR_BYTES: usize = 32 * 1024 * 1024;

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

/// What was kept under one version.
#[derive(Default)]
struct Kept {
    version: i64,
    starts: HashMap<StartKey, Arc<StartDeadlines>>,
    /// By the contact's address and the day.
    calendars: HashMap<(String, NaiveDate), Arc<str>>,
    deadlines: usize,
    bytes: usize,
}

/// The cache of one instance (one [`super::Registry`] and its clones).
pub struct PageCache {
    version: SharedRead,
    kept: Mutex<Kept>,
    enabled: bool,
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
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl Default for PageCache {
    fn default() -> Self {
        Self {
            version: SharedRead::default(),
            kept: Mutex::new(Kept::default()),
            enabled: true,
        }
    }
}

impl PageCache {
    /// A cache that keeps nothing: every page reads its deadlines (benchmarks of that path).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The data version as of a read that started after this call; `None` when disabled.
    pub async fn version(&self, db: &impl ConnectionTrait) -> Result<Option<i64>, StoreError> {
        if !self.enabled {
            return Ok(None);
        }
        let v = self.version.get(async || audit::head_id(db).await).await?;
        Ok(Some(v))
    }

    /// Runs `f` on what was kept if it was kept under `version`.
    fn with_kept<T>(&self, version: Option<i64>, f: impl FnOnce(&Kept) -> Option<T>) -> Option<T> {
        let version = version?;
        let kept = self.kept.lock().ok()?;
        if kept.version == version {
            f(&kept)
        } else {
            None
        }
    }

    /// Runs `f` on what is kept for `version` (emptied first if it was kept for an older one);
    /// nothing when a later version is kept already.
    fn keep(&self, version: Option<i64>, f: impl FnOnce(&mut Kept)) {
        let Some(version) = version else { return };
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept.version > version {
            return;
        }
        if kept.version < version {
            *kept = Kept {
                version,
                ..Kept::default()
            };
        }
        f(&mut kept);
    }

    /// The start page's deadlines of `scope` on `today` up to `horizon`, if kept under `version`.
    pub fn start(
        &self,
        version: Option<i64>,
        scope: StartScope,
        today: NaiveDate,
        horizon: NaiveDate,
    ) -> Option<Arc<StartDeadlines>> {
        self.with_kept(version, |k| k.starts.get(&(scope, today, horizon)).cloned())
    }

    /// Keeps a start page's deadlines, read after `version` was read.
    pub fn put_start(
        &self,
        version: Option<i64>,
        scope: StartScope,
        today: NaiveDate,
        horizon: NaiveDate,
        found: Arc<StartDeadlines>,
    ) {
        self.keep(version, |k| {
            let size = found.deadlines.len() + found.behind.len();
            if k.deadlines + size > MAX_DEADLINES {
                k.starts.clear();
                k.deadlines = 0;
            }
            if size <= MAX_DEADLINES {
                k.deadlines += size;
                if let Some(old) = k.starts.insert((scope, today, horizon), found) {
                    k.deadlines -= old.deadlines.len() + old.behind.len();
                }
            }
        });
    }

    /// The calendar of the contact with this address on `today`, if kept under `version`.
    pub fn calendar(
        &self,
        version: Option<i64>,
        email: &str,
        today: NaiveDate,
    ) -> Option<Arc<str>> {
        self.with_kept(version, |k| {
            k.calendars.get(&(email.to_owned(), today)).cloned()
        })
    }

    /// Keeps a contact's calendar, made after `version` was read.
    pub fn put_calendar(
        &self,
        version: Option<i64>,
        email: &str,
        today: NaiveDate,
        calendar: Arc<str>,
    ) {
        self.keep(version, |k| {
            if k.bytes + calendar.len() > MAX_CALENDAR_BYTES {
                k.calendars.clear();
                k.bytes = 0;
            }
            if calendar.len() <= MAX_CALENDAR_BYTES {
                k.bytes += calendar.len();
                if let Some(old) = k.calendars.insert((email.to_owned(), today), calendar) {
                    k.bytes -= old.len();
                }
            }
        });
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
    use super::*;
    use crate::domain::agreement::Reference;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
    }

    fn found(behind: &str) -> Arc<StartDeadlines> {
        let reference = Reference::parse("AGR-2025-0001").ok();
        Arc::new(StartDeadlines {
            deadlines: Vec::new(),
            behind: reference
                .into_iter()
                .map(|r| (r, behind.to_owned()))
                .collect(),
        })
    }

    fn behind(s: Option<Arc<StartDeadlines>>) -> Option<String> {
        s.and_then(|s| s.behind.first().map(|(_, t)| t.clone()))
    }

    #[test]
    fn a_start_page_holds_only_under_its_version_for_its_scope_and_days() {
        let cache = PageCache::default();
        let (today, horizon) = (day(22), day(30));
        cache.put_start(Some(5), StartScope::Party(1), today, horizon, found("a"));
        let get = |v, s, t, h| behind(cache.start(v, s, t, h));
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
    fn a_later_version_drops_the_older_entries_and_is_not_replaced_by_them() {
        let cache = PageCache::default();
        let (today, horizon) = (day(22), day(30));
        cache.put_calendar(Some(5), "a@b.se", today, Arc::from("five"));
        cache.put_start(Some(6), StartScope::All, today, horizon, found("six"));
        assert_eq!(cache.calendar(Some(5), "a@b.se", today), None, "dropped");
        // What was read under an older version never replaces the newer.
        cache.put_start(Some(5), StartScope::All, today, horizon, found("five"));
        cache.put_calendar(Some(5), "a@b.se", today, Arc::from("five"));
        assert_eq!(
            behind(cache.start(Some(6), StartScope::All, today, horizon)).as_deref(),
            Some("six")
        );
        assert_eq!(cache.calendar(Some(6), "a@b.se", today), None);
        cache.put_calendar(Some(6), "a@b.se", today, Arc::from("six"));
        assert_eq!(
            cache.calendar(Some(6), "a@b.se", today).as_deref(),
            Some("six")
        );
        assert_eq!(cache.calendar(Some(6), "c@b.se", today), None, "contact");
        assert_eq!(cache.calendar(Some(6), "a@b.se", day(23)), None, "day");
        cache.clear();
        assert_eq!(cache.calendar(Some(6), "a@b.se", today), None, "cleared");
        assert_eq!(
            cache
                .start(Some(6), StartScope::All, today, horizon)
                .map(|_| ()),
            None
        );
    }

    #[test]
    fn a_full_cache_starts_empty_and_its_sizes_stay_true() {
        let cache = PageCache::default();
        let big: Arc<str> = Arc::from("x".repeat(MAX_CALENDAR_BYTES / 2 + 1));
        cache.put_calendar(Some(1), "a@b.se", day(22), big.clone());
        // Replacing an entry does not count it twice.
        cache.put_calendar(Some(1), "a@b.se", day(22), big.clone());
        assert!(cache.calendar(Some(1), "a@b.se", day(22)).is_some());
        cache.put_calendar(Some(1), "c@b.se", day(22), big.clone());
        assert!(
            cache.calendar(Some(1), "a@b.se", day(22)).is_none(),
            "emptied"
        );
        assert!(cache.calendar(Some(1), "c@b.se", day(22)).is_some());
        let bytes = cache.kept.lock().map(|k| k.bytes).unwrap_or_default();
        assert_eq!(bytes, big.len());
        // Too large alone: not kept at all.
        let huge: Arc<str> = Arc::from("x".repeat(MAX_CALENDAR_BYTES + 1));
        cache.put_calendar(Some(1), "e@b.se", day(22), huge);
        assert!(cache.calendar(Some(1), "e@b.se", day(22)).is_none());
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = PageCache::disabled();
        cache.put_calendar(None, "a@b.se", day(22), Arc::from("x"));
        assert_eq!(cache.calendar(None, "a@b.se", day(22)), None);
    }
}
