//! The agreement list's work per filter kept in memory: the `party` filter's organisation, the
//! prepared search and the count of matches (up to the cap), so that the next page reads only its
//! 50 rows; and the pages themselves, so that the same page again (a reload, another user's same
//! list, a script polling it) reads nothing. An entry holds while the registry's data version
//! (`db::audit::head_id`: every write appends to the audit chain in commit order) is the one it
//! was read under; any write, on any instance on the database, makes it stale.
//!
//! Each list reads the version first ([`DataVersion`], one
//! [`SharedRead`](super::shared_read::SharedRead): the lists arriving together share one read
//! that started after they arrived, so a list sees every write its client saw committed), then
//! counts when it has no entry: a count taken after the read holds at least what that version
//! holds, so an entry is never older than its version.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use sea_orm::ConnectionTrait;

use super::shared_read::DataVersion;
use crate::db::store::{AgreementFilter, AgreementPage, ResolvedFilter, SortKey, StoreError};

/// Filters kept at most; when full, the cache starts empty again.
const MAX_ENTRIES: usize = 4_096;

/// Rows of kept pages at most (about 300 bytes each); when full, the pages start empty again.
const MAX_PAGE_ROWS: usize = 50_000;

/// Which page of a filter's list: its order and place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// Sort key.
    pub sort: SortKey,
    /// Descending.
    pub descending: bool,
    /// Page number, from 1.
    pub page: u64,
    /// Rows per page.
    pub limit: u64,
}

/// What one filter resolved to and counted under one data version.
#[derive(Debug, Clone)]
pub struct Known {
    /// The party's id and the prepared search.
    pub resolved: Arc<ResolvedFilter>,
    /// Matches, counted up to the cap (`AgreementPage::counted`).
    pub counted: u64,
}

/// One filter's look-ups and count, and the pages of its list served, under one version.
struct Entry {
    version: i64,
    known: Known,
    pages: HashMap<PageKey, AgreementPage>,
}

#[derive(Default)]
struct Kept {
    entries: HashMap<AgreementFilter, Entry>,
}

impl Kept {
    /// Rows of all the kept pages.
    fn page_rows(&self) -> usize {
        self.entries
            .values()
            .flat_map(|e| e.pages.values())
            .map(|p| p.items.len())
            .sum()
    }
}

/// The cache of one instance (one [`super::Registry`] and its clones).
pub struct ListCache {
    version: DataVersion,
    kept: Mutex<Kept>,
}

impl fmt::Debug for ListCache {
    // Never the filters: they hold what users searched for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListCache")
            .field("entries", &self.kept.lock().map(|k| k.entries.len()).ok())
            .field("version", &self.version.last())
            .finish()
    }
}

impl Default for ListCache {
    fn default() -> Self {
        Self {
            version: DataVersion::default(),
            kept: Mutex::new(Kept::default()),
        }
    }
}

impl ListCache {
    /// A cache that keeps nothing: every list resolves and counts (benchmarks of that path).
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

    /// Runs `f` on `filter`'s entry if it was kept under `version`.
    fn with_entry<T>(
        &self,
        filter: &AgreementFilter,
        version: Option<i64>,
        f: impl FnOnce(&Entry) -> Option<T>,
    ) -> Option<T> {
        let version = version?;
        let kept = self.kept.lock().ok()?;
        kept.entries
            .get(filter)
            .filter(|e| e.version == version)
            .and_then(f)
    }

    /// What `filter` resolved to and counted under `version`, if this instance kept it.
    pub fn get(&self, filter: &AgreementFilter, version: Option<i64>) -> Option<Known> {
        self.with_entry(filter, version, |e| Some(e.known.clone()))
    }

    /// Page `key` of `filter`'s list under `version`, if this instance kept it.
    pub fn page(
        &self,
        filter: &AgreementFilter,
        version: Option<i64>,
        key: PageKey,
    ) -> Option<AgreementPage> {
        self.with_entry(filter, version, |e| e.pages.get(&key).cloned())
    }

    /// Forgets every entry: for a write that went around the use cases and left no audit entry
    /// (a bulk load into a running instance, a repair in SQL), which the version cannot see.
    pub fn clear(&self) {
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Kept::default();
        }
    }

    /// Keeps what `filter` resolved to and counted after `version` was read; an entry of a later
    /// version stays, entries of older versions (which can never be used again) go.
    pub fn put(&self, filter: &AgreementFilter, version: Option<i64>, known: Known) {
        let Some(version) = version else { return };
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept
            .entries
            .get(filter)
            .is_some_and(|e| e.version > version)
        {
            return;
        }
        if kept.entries.len() >= MAX_ENTRIES {
            *kept = Kept::default();
        }
        if kept.entries.values().any(|e| e.version < version) {
            kept.entries.retain(|_, e| e.version >= version);
        }
        kept.entries.insert(
            filter.clone(),
            Entry {
                version,
                known,
                pages: HashMap::new(),
            },
        );
    }

    /// Keeps page `key` of `filter`'s list, read after `version` was read, beside the filter's
    /// entry of that version ([`Self::put`] first); nothing when there is none.
    pub fn put_page(
        &self,
        filter: &AgreementFilter,
        version: Option<i64>,
        key: PageKey,
        page: &AgreementPage,
    ) {
        let Some(version) = version else { return };
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if kept
            .entries
            .get(filter)
            .is_none_or(|e| e.version != version)
        {
            return;
        }
        if kept.page_rows() + page.items.len() > MAX_PAGE_ROWS {
            for e in kept.entries.values_mut() {
                e.pages.clear();
            }
        }
        if let Some(e) = kept.entries.get_mut(filter) {
            e.pages.insert(key, page.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(counted: u64) -> Known {
        Known {
            resolved: Arc::new(ResolvedFilter::default()),
            counted,
        }
    }

    fn filter(q: &str) -> AgreementFilter {
        AgreementFilter {
            q: Some(q.to_owned()),
            ..AgreementFilter::default()
        }
    }

    #[test]
    fn an_entry_holds_only_under_its_version_and_for_its_filter() {
        let cache = ListCache::default();
        cache.put(&filter("a"), Some(5), known(3));
        assert_eq!(cache.get(&filter("a"), Some(5)).map(|k| k.counted), Some(3));
        assert!(cache.get(&filter("a"), Some(6)).is_none(), "version");
        assert!(cache.get(&filter("b"), Some(5)).is_none(), "filter");
        assert!(cache.get(&filter("a"), None).is_none(), "no version read");
    }

    #[test]
    fn a_later_version_replaces_the_older_entries_and_is_not_replaced_by_them() {
        let cache = ListCache::default();
        cache.put(&filter("a"), Some(5), known(3));
        cache.put(&filter("b"), Some(6), known(4));
        assert!(cache.get(&filter("a"), Some(5)).is_none(), "dropped");
        cache.put(&filter("b"), Some(5), known(9));
        assert_eq!(cache.get(&filter("b"), Some(6)).map(|k| k.counted), Some(4));
    }

    fn page_of(n: usize) -> AgreementPage {
        AgreementPage {
            items: Vec::new(),
            total: n as u64,
            total_exact: true,
            page: 1,
            limit: 50,
        }
    }

    const FIRST: PageKey = PageKey {
        sort: SortKey::Reference,
        descending: false,
        page: 1,
        limit: 50,
    };

    #[test]
    fn a_page_holds_only_under_its_version_for_its_filter_and_place() {
        let cache = ListCache::default();
        // A page is kept beside its filter's entry of the same version.
        cache.put_page(&filter("a"), Some(5), FIRST, &page_of(3));
        assert!(
            cache.page(&filter("a"), Some(5), FIRST).is_none(),
            "no entry"
        );
        cache.put(&filter("a"), Some(5), known(3));
        cache.put_page(&filter("a"), Some(5), FIRST, &page_of(3));
        assert_eq!(
            cache.page(&filter("a"), Some(5), FIRST).map(|p| p.total),
            Some(3)
        );
        assert!(
            cache.page(&filter("a"), Some(6), FIRST).is_none(),
            "version"
        );
        assert!(cache.page(&filter("b"), Some(5), FIRST).is_none(), "filter");
        let second = PageKey { page: 2, ..FIRST };
        assert!(cache.page(&filter("a"), Some(5), second).is_none(), "page");
        let reversed = PageKey {
            descending: true,
            ..FIRST
        };
        assert!(
            cache.page(&filter("a"), Some(5), reversed).is_none(),
            "order"
        );
        cache.put(&filter("b"), Some(6), known(4));
        cache.put_page(&filter("b"), Some(6), FIRST, &page_of(4));
        assert!(
            cache.page(&filter("a"), Some(5), FIRST).is_none(),
            "dropped"
        );
        cache.put_page(&filter("b"), Some(5), FIRST, &page_of(9));
        assert_eq!(
            cache.page(&filter("b"), Some(6), FIRST).map(|p| p.total),
            Some(4)
        );
        cache.clear();
        assert!(
            cache.page(&filter("b"), Some(6), FIRST).is_none(),
            "cleared"
        );
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = ListCache::disabled();
        cache.put(&filter("a"), None, known(3));
        assert!(cache.get(&filter("a"), None).is_none());
        cache.put_page(&filter("a"), None, FIRST, &page_of(3));
        assert!(cache.page(&filter("a"), None, FIRST).is_none());
    }
}
