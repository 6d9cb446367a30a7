//! Signed-in users kept in memory, so a request with an API token or a session cookie costs
//! about what one without does. An entry is the answer of the database for one secret (by its
//! SHA-256, never the secret), kept for at most [`CACHE_LIFETIME`] and only while the
//! credentials version it was read under is still current.
//!
//! Every change that ends a credential (a token revoked, a user disabled, a password changed, a
//! session ended) raises the version in its own transaction (`db::users::bump_credentials_version`).
//! Each request reads the version before it trusts an entry, so an ended credential is refused
//! at once on every instance on the database, whichever instance ended it. Requests that arrive
//! together share one read ([`SharedRead`]: a read that started after the request arrived, so a
//! revoke the client already saw committed is seen).

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::shared_read::SharedRead;
use crate::db::store::StoreError;
use crate::db::users;
use crate::domain::access::Principal;

/// How long an entry is trusted at most, even while the version stays the same.
pub const CACHE_LIFETIME: Duration = Duration::from_secs(60);

/// Entries kept at most; when full, the cache starts empty again.
const MAX_ENTRIES: usize = 20_000;

/// What a secret is: the map holds both kinds, which never share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An API token (`Authorization: Bearer`).
    Token,
    /// A session cookie.
    Session,
}

/// What the database said about one secret.
#[derive(Clone)]
pub enum Credential {
    /// An API token of an active user, and when its use was last written.
    Token {
        /// The owner.
        user: Principal,
        /// The stored `last_used_at` (as far as this instance knows).
        noted: DateTime<Utc>,
    },
    /// A live session of an active user.
    Session {
        /// The user.
        user: Principal,
        /// The session's CSRF token.
        csrf: String,
        /// When it ends.
        expires_at: DateTime<Utc>,
    },
}

impl fmt::Debug for Credential {
    // Never the CSRF token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token { user, noted } => f
                .debug_struct("Token")
                .field("user_id", &user.user_id)
                .field("noted", noted)
                .finish(),
            Self::Session {
                user, expires_at, ..
            } => f
                .debug_struct("Session")
                .field("user_id", &user.user_id)
                .field("expires_at", expires_at)
                .finish_non_exhaustive(),
        }
    }
}

struct Entry {
    credential: Credential,
    version: i64,
    cached_at: Instant,
}

/// The cache of one instance (one [`super::Registry`] and its clones).
pub struct CredentialCache {
    entries: Mutex<HashMap<(Kind, [u8; 32]), Entry>>,
    /// The credentials version, read once for the requests arriving together.
    version: SharedRead,
    /// The version the entries were last checked against; `i64::MIN` at first.
    seen: AtomicI64,
}

impl fmt::Debug for CredentialCache {
    // Never the entries: they hold users and CSRF tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache")
            .field("entries", &self.entries.lock().map(|e| e.len()).ok())
            .field("version", &self.version.last())
            .finish()
    }
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            version: SharedRead::default(),
            seen: AtomicI64::new(i64::MIN),
        }
    }
}

impl CredentialCache {
    /// The credentials version as of a read that started after this call: either one this call
    /// makes, or one another request started later and already finished.
    pub async fn version(&self, db: &impl ConnectionTrait) -> Result<i64, StoreError> {
        let version = self
            .version
            .get(async || users::credentials_version(db).await)
            .await?;
        self.observe(version);
        Ok(version)
    }

    /// Notes the version just read; a different one than before empties the cache.
    fn observe(&self, version: i64) {
        if self.seen.swap(version, Ordering::SeqCst) != version {
            self.clear();
        }
    }

    fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }

    /// The entry for `digest`, if it was read under `version` less than [`CACHE_LIFETIME`]
    /// before `now`.
    pub fn get(
        &self,
        kind: Kind,
        digest: &[u8; 32],
        version: i64,
        now: Instant,
    ) -> Option<Credential> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(&(kind, *digest))?;
        (e.version == version && now.saturating_duration_since(e.cached_at) < CACHE_LIFETIME)
            .then(|| e.credential.clone())
    }

    /// Keeps what the database said about `digest` under `version` (read before the database).
    pub fn put(
        &self,
        kind: Kind,
        digest: [u8; 32],
        version: i64,
        credential: Credential,
        now: Instant,
    ) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                (kind, digest),
                Entry {
                    credential,
                    version,
                    cached_at: now,
                },
            );
        }
    }

    /// Whether this request should write the token's use at `at`: true for one request only
    /// once the noted use is older than `resolution` (it notes `at` at once, so the others
    /// of the same moment do not write too).
    pub fn claim_use(
        &self,
        digest: &[u8; 32],
        at: DateTime<Utc>,
        resolution: chrono::Duration,
    ) -> bool {
        let Ok(mut entries) = self.entries.lock() else {
            return false;
        };
        match entries.get_mut(&(Kind::Token, *digest)) {
            Some(Entry {
                credential: Credential::Token { noted, .. },
                ..
            }) if at - *noted > resolution => {
                *noted = at;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Role;

    fn user() -> Principal {
        Principal {
            user_id: 7,
            email: "a@b.example".to_owned(),
            role: Role::Admin,
            org: None,
        }
    }

    fn token(noted: DateTime<Utc>) -> Credential {
        Credential::Token {
            user: user(),
            noted,
        }
    }

    #[test]
    fn an_entry_is_trusted_only_under_its_version_and_within_its_lifetime() {
        let cache = CredentialCache::default();
        let t0 = Instant::now();
        cache.put(Kind::Token, [1; 32], 5, token(Utc::now()), t0);
        assert!(cache.get(Kind::Token, &[1; 32], 5, t0).is_some());
        assert!(cache.get(Kind::Token, &[1; 32], 6, t0).is_none(), "version");
        assert!(cache.get(Kind::Session, &[1; 32], 5, t0).is_none(), "kind");
        assert!(cache.get(Kind::Token, &[2; 32], 5, t0).is_none(), "key");
        assert!(
            cache
                .get(Kind::Token, &[1; 32], 5, t0 + CACHE_LIFETIME)
                .is_none(),
            "lifetime"
        );
    }

    #[test]
    fn a_new_version_empties_the_cache() {
        let cache = CredentialCache::default();
        let t0 = Instant::now();
        cache.observe(5);
        cache.put(Kind::Token, [1; 32], 5, token(Utc::now()), t0);
        cache.observe(5);
        assert!(cache.get(Kind::Token, &[1; 32], 5, t0).is_some());
        cache.observe(6);
        cache.observe(5);
        assert!(cache.get(Kind::Token, &[1; 32], 5, t0).is_none());
    }

    #[test]
    fn one_request_per_minute_writes_the_use_of_a_token() {
        let cache = CredentialCache::default();
        let t0 = Utc::now();
        cache.put(Kind::Token, [1; 32], 1, token(t0), Instant::now());
        let minute = chrono::Duration::minutes(1);
        assert!(!cache.claim_use(&[1; 32], t0 + chrono::Duration::seconds(30), minute));
        let later = t0 + chrono::Duration::seconds(61);
        assert!(cache.claim_use(&[1; 32], later, minute));
        assert!(!cache.claim_use(&[1; 32], later, minute));
        assert!(!cache.claim_use(&[9; 32], later, minute), "unknown token");
    }
}
