//! A number read from the database (a version) that the requests arriving together share: a
//! request waits for a read that *started after it arrived*, either its own or one another
//! request started later and already finished. A read started earlier could predate a write
//! that the client already saw committed, so it would not do; at most one read is in flight per
//! instance, and a burst of requests pays for one or two.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::db::store::StoreError;

/// One shared read; see the module.
#[derive(Debug)]
pub struct SharedRead {
    /// The last value read; `i64::MIN` before the first read.
    seen: AtomicI64,
    /// Held while a read is in flight.
    gate: tokio::sync::Mutex<()>,
    /// Requests that asked so far (each takes the next number).
    arrivals: AtomicU64,
    /// Every request numbered up to this one arrived before the last completed read started.
    covered: AtomicU64,
}

impl Default for SharedRead {
    fn default() -> Self {
        Self {
            seen: AtomicI64::new(i64::MIN),
            gate: tokio::sync::Mutex::new(()),
            arrivals: AtomicU64::new(0),
            covered: AtomicU64::new(0),
        }
    }
}

impl SharedRead {
    /// The value as of a read that started after this call: `read` run now, or the value of a
    /// read that another call started later and has finished.
    pub async fn get(
        &self,
        read: impl AsyncFnOnce() -> Result<i64, StoreError>,
    ) -> Result<i64, StoreError> {
        let ticket = self.arrivals.fetch_add(1, Ordering::SeqCst) + 1;
        let _gate = self.gate.lock().await;
        if self.covered.load(Ordering::SeqCst) >= ticket {
            return Ok(self.seen.load(Ordering::SeqCst));
        }
        // Everyone numbered so far arrived before this read starts.
        let upto = self.arrivals.load(Ordering::SeqCst);
        let value = read().await?;
        self.seen.store(value, Ordering::SeqCst);
        self.covered.store(upto, Ordering::SeqCst);
        Ok(value)
    }

    /// The last value read, if any.
    pub fn last(&self) -> Option<i64> {
        Some(self.seen.load(Ordering::SeqCst)).filter(|v| *v != i64::MIN)
    }
}

/// The registry's data version (`db::audit::head_id`) as the in-memory caches read it
/// ([`super::list_cache`], [`super::page_cache`]): one [`SharedRead`], or nothing when the cache
/// is off.
#[derive(Debug)]
pub struct DataVersion {
    read: SharedRead,
    enabled: bool,
}

impl Default for DataVersion {
    fn default() -> Self {
        Self {
            read: SharedRead::default(),
            enabled: true,
        }
    }
}

impl DataVersion {
    /// A version that is never read: its cache keeps nothing.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The data version as of a read that started after this call; `None` when off.
    pub async fn get(&self, db: &impl sea_orm::ConnectionTrait) -> Result<Option<i64>, StoreError> {
        if !self.enabled {
            return Ok(None);
        }
        let v = self
            .read
            .get(async || crate::db::audit::head_id(db).await)
            .await?;
        Ok(Some(v))
    }

    /// The last version read, if any.
    pub fn last(&self) -> Option<i64> {
        self.read.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_burst_of_calls_shares_reads_and_each_sees_a_read_started_after_it() {
        let shared = Arc::new(SharedRead::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let value = Arc::new(AtomicI64::new(1));
        let mut calls = Vec::new();
        for _ in 0..50 {
            let (shared, reads, value) = (shared.clone(), reads.clone(), value.clone());
            calls.push(tokio::spawn(async move {
                shared
                    .get(async || {
                        reads.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(value.load(Ordering::SeqCst))
                    })
                    .await
            }));
        }
        for c in calls {
            assert_eq!(c.await.ok().and_then(Result::ok), Some(1));
        }
        let n = reads.load(Ordering::SeqCst);
        assert!((1..50).contains(&n), "50 calls made {n} reads");
        // A write after the burst: the next call reads again and sees it.
        value.store(2, Ordering::SeqCst);
        let v = shared.get(async || Ok(value.load(Ordering::SeqCst))).await;
        assert_eq!(v.ok(), Some(2));
        assert_eq!(shared.last(), Some(2));
    }
}
