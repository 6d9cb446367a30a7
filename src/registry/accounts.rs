//! Account use cases: creating users (Argon2id password hashes), signing in and out with
//! server-side sessions, and API tokens. Secrets are random 256-bit values; only their SHA-256
//! is stored. Every change to a user or token is written to the audit log in its transaction.

use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::credentials::{Credential, Kind};

use crate::db::audit::{self, NewEntry};
use crate::db::login_limit;
use crate::db::store::{self, StoreError};
use crate::db::users::{self, TokenInfo, UserInfo};
use crate::domain::access::{Principal, Role};
use crate::domain::audit::Action;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::{EmailAddress, Violation};
use crate::registry::{Registry, RegistryError};

/// How long a session lasts after sign-in.
pub const SESSION_HOURS: i64 = 12;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login e-mail address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Organisation number (officer and enterprise users).
    pub org: Option<String>,
    /// The password in clear; only its hash is stored.
    pub password: String,
}

/// A new session: the cookie value and the form token bound to it.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The secret cookie value.
    pub token: String,
    /// The CSRF token of the session's forms.
    pub csrf: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// A random 256-bit secret as 64 hex digits.
pub fn new_secret() -> Result<String, RegistryError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

/// A random password of 20 letters and digits without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> Result<String, RegistryError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| internal(format!("no randomness: {e}")))?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % ALPHABET.len();
        for b in buf {
            if (b as usize) < limit && out.len() < 20 {
                out.push(char::from(ALPHABET[b as usize % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// Failed logins allowed per account within [`LOCKOUT_WINDOW_SECS`].
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 5;
/// Failed logins allowed per client address within the window.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// How long failures count, in seconds.
pub const LOCKOUT_WINDOW_SECS: i64 = 15 * 60;

/// The stored buckets of an account and a client address (hashed: the table holds neither).
fn login_buckets(account: &str, address: &str) -> (String, String) {
    (
        secret_hash(&format!("account:{account}")),
        secret_hash(&format!("address:{address}")),
    )
}

/// Whether another login for `account` from `address` may be tried now. The counts are in the
/// database, so every instance on it sees the same.
pub async fn login_allowed(
    registry: &Registry,
    account: &str,
    address: &str,
) -> Result<bool, RegistryError> {
    let (a, i) = login_buckets(account, address);
    let since = Utc::now().timestamp() - LOCKOUT_WINDOW_SECS;
    let db = &registry.db;
    Ok(
        login_limit::failures_since(db, &a, since).await? < MAX_FAILURES_PER_ACCOUNT
            && login_limit::failures_since(db, &i, since).await? < MAX_FAILURES_PER_ADDRESS,
    )
}

/// Counts a failed login for `account` and for `address`.
pub async fn login_failed(
    registry: &Registry,
    account: &str,
    address: &str,
) -> Result<(), RegistryError> {
    let (a, i) = login_buckets(account, address);
    let now = Utc::now().timestamp();
    login_limit::count_failure(&registry.db, &[&a, &i], now, now - LOCKOUT_WINDOW_SECS).await?;
    Ok(())
}

/// Forgets the account's failures after a successful login.
pub async fn login_succeeded(registry: &Registry, account: &str) -> Result<(), RegistryError> {
    let (a, _) = login_buckets(account, "");
    login_limit::forget(&registry.db, &a).await?;
    Ok(())
}

/// Hex SHA-256 of a secret, the form in which sessions and tokens are stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn internal(m: String) -> RegistryError {
    RegistryError::Store(crate::error::Unexpected(m).into())
}

async fn hash_password(password: String) -> Result<String, RegistryError> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| internal(format!("no randomness: {e}")))?;
        let salt = SaltString::encode_b64(&bytes)
            .map_err(|e| internal(format!("cannot encode a salt: {e}")))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| internal(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| internal(format!("hashing stopped: {e}")))?
}

/// A hash of a password nobody has, verified when the e-mail address is unknown so that a
/// failed login takes as long whether or not the account exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zr1v2hB0HrV/XbnTS4QuW0Oe+6QMoaGiZn6Vv05WTkg";

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// Checks and creates a user; the audit entry holds the user without its password hash.
pub async fn create_user(registry: &Registry, u: NewUser) -> Result<UserInfo, RegistryError> {
    let mut violations = Vec::new();
    let email = EmailAddress::parse(&u.email)
        .map_err(|e| violations.push(Violation::new("email", &u.email, "email", e.to_string())))
        .ok();
    let org = match (&u.org, u.role.needs_org()) {
        (Some(raw), true) => OrgNumber::parse(raw)
            .map_err(|e| violations.push(Violation::new("org", raw, "org_number", e.to_string())))
            .ok(),
        (None, true) => {
            violations.push(Violation::new(
                "org",
                "",
                "org_required",
                format!(
                    "a user with role {} belongs to an organisation: give --org",
                    u.role
                ),
            ));
            None
        }
        (Some(raw), false) => {
            violations.push(Violation::new(
                "org",
                raw,
                "org_not_allowed",
                format!("a user with role {} belongs to no organisation", u.role),
            ));
            None
        }
        (None, false) => None,
    };
    if u.password.chars().count() < MIN_PASSWORD_CHARS {
        violations.push(Violation::new(
            "password",
            "",
            "password_length",
            format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let Some(email) = email.filter(|_| violations.is_empty()) else {
        return Err(RegistryError::Invalid(violations));
    };
    let hash = hash_password(u.password).await?;
    registry
        .in_write_tx(async |tx| {
            if let Some(o) = &org {
                store::get_organisation(tx, o).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => RegistryError::from(Violation::new(
                        "org",
                        o,
                        "unknown_organisation",
                        "no organisation with this number is registered",
                    )),
                    other => other.into(),
                })?;
            }
            let info = users::insert_user(tx, email.as_str(), &hash, u.role, org.as_ref()).await?;
            audit::record(
                tx,
                NewEntry::change(
                    &registry.actor,
                    Action::UserCreate,
                    &info.id.to_string(),
                    None,
                    Some(&info),
                )?,
            )
            .await?;
            Ok(info)
        })
        .await
}

/// Every user, by e-mail address (never a password hash).
pub async fn list_users(registry: &Registry) -> Result<Vec<UserInfo>, RegistryError> {
    Ok(users::list_users(&registry.db).await?)
}

/// The API tokens of `user` (never a secret).
pub async fn list_tokens(
    registry: &Registry,
    user: &Principal,
) -> Result<Vec<TokenInfo>, RegistryError> {
    Ok(users::list_tokens(&registry.db, user.user_id).await?)
}

/// Deactivates the user with this e-mail address: it can no longer sign in, and its sessions
/// and API tokens end, in one audited transaction. `by` (when a signed-in admin acts) may not
/// deactivate itself.
pub async fn disable_user(
    registry: &Registry,
    email: &str,
    by: Option<&Principal>,
) -> Result<UserInfo, RegistryError> {
    let email = email.trim().to_lowercase();
    registry
        .in_write_tx(async |tx| {
            let before = users::find_user(tx, &email).await?;
            if by.is_some_and(|p| p.user_id == before.id) {
                return Err(Violation::new(
                    "email",
                    &email,
                    "disable_self",
                    "an admin cannot deactivate its own account",
                )
                .into());
            }
            users::set_active(tx, before.id, false).await?;
            let sessions = users::delete_user_sessions(tx, before.id).await?;
            let tokens = users::delete_user_tokens(tx, before.id).await?;
            users::bump_credentials_version(tx).await?;
            let after = UserInfo {
                active: false,
                ..before.clone()
            };
            audit::record(
                tx,
                NewEntry::change(
                    &registry.actor,
                    Action::UserDisable,
                    &before.id.to_string(),
                    Some(&serde_json::json!({"user": before})),
                    Some(
                        &serde_json::json!({"user": after, "sessions_ended": sessions,
                                             "tokens_revoked": tokens}),
                    ),
                )?,
            )
            .await?;
            Ok(after)
        })
        .await
}

/// Sets a new password for the user with this e-mail address and ends its sessions; the audit
/// entry says that the password changed, never the password or its hash.
pub async fn set_password(
    registry: &Registry,
    email: &str,
    password: String,
) -> Result<UserInfo, RegistryError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Violation::new(
            "password",
            "",
            "password_length",
            format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
        )
        .into());
    }
    let email = email.trim().to_lowercase();
    let hash = hash_password(password).await?;
    registry
        .in_write_tx(async |tx| {
            let user = users::find_user(tx, &email).await?;
            users::set_password_hash(tx, user.id, &hash).await?;
            let sessions = users::delete_user_sessions(tx, user.id).await?;
            users::bump_credentials_version(tx).await?;
            audit::record(
                tx,
                NewEntry::change(
                    &registry.actor,
                    Action::UserPassword,
                    &user.id.to_string(),
                    None,
                    Some(&serde_json::json!({"user": user, "password": "changed",
                                             "sessions_ended": sessions})),
                )?,
            )
            .await?;
            Ok(user)
        })
        .await
}

/// The user with this e-mail address and password, if both match an active account.
pub async fn authenticate(
    registry: &Registry,
    email: &str,
    password: &str,
) -> Result<Option<Principal>, RegistryError> {
    let email = email.trim().to_lowercase();
    let found = users::find_login(&registry.db, &email).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_owned(), |(_, h)| h.clone());
    let ok = verify_password(password.to_owned(), hash).await;
    Ok(found.filter(|_| ok).map(|(p, _)| p))
}

/// Starts a session for `user`.
pub async fn start_session(
    registry: &Registry,
    user: &Principal,
) -> Result<NewSession, RegistryError> {
    let token = new_secret()?;
    let csrf = new_secret()?;
    let expires_at = Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    users::insert_session(
        &registry.db,
        &secret_hash(&token),
        user.user_id,
        &csrf,
        expires_at,
    )
    .await?;
    Ok(NewSession {
        token,
        csrf,
        expires_at,
    })
}

/// The user and CSRF token of a live session cookie (from memory while the credentials
/// version stays the same, see [`super::credentials`]).
pub async fn session_user(
    registry: &Registry,
    token: &str,
) -> Result<Option<(Principal, String)>, RegistryError> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let cache = &registry.credentials;
    let version = cache.version(&registry.db).await?;
    let now = Utc::now();
    if let Some(Credential::Session {
        user,
        csrf,
        expires_at,
    }) = cache.get(Kind::Session, &digest, version, Instant::now())
        && expires_at > now
    {
        return Ok(Some((user, csrf)));
    }
    let found = users::session(&registry.db, &hex::encode(digest), now).await?;
    Ok(found.map(|(user, csrf, expires_at)| {
        cache.put(
            Kind::Session,
            digest,
            version,
            Credential::Session {
                user: user.clone(),
                csrf: csrf.clone(),
                expires_at,
            },
            Instant::now(),
        );
        (user, csrf)
    }))
}

/// Ends a session (and clears expired ones); every instance forgets it at once.
pub async fn end_session(registry: &Registry, token: &str) -> Result<(), RegistryError> {
    let hash = secret_hash(token);
    registry
        .in_write_tx(async |tx| {
            users::delete_session(tx, &hash).await?;
            users::bump_credentials_version(tx).await?;
            Ok(())
        })
        .await
}

/// Creates an API token for `user`, acting as `registry.actor`; the secret is returned once.
pub async fn create_token(
    registry: &Registry,
    user: &Principal,
    name: &str,
) -> Result<(TokenInfo, String), RegistryError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Violation::new(
            "name",
            name,
            "token_name",
            "a token needs a name of 1 to 100 characters",
        )
        .into());
    }
    let secret = format!("avt_{}", new_secret()?);
    let info = registry
        .in_write_tx(async |tx| {
            let info = users::insert_token(tx, user.user_id, name, &secret_hash(&secret)).await?;
            audit::record(
                tx,
                NewEntry::change(
                    &registry.actor,
                    Action::ApiTokenCreate,
                    &info.id.to_string(),
                    None,
                    Some(&serde_json::json!({"user": user.user_id, "name": info.name})),
                )?,
            )
            .await?;
            Ok(info)
        })
        .await?;
    Ok((info, secret))
}

/// Revokes (deletes) token `id` of `user`.
pub async fn revoke_token(
    registry: &Registry,
    user: &Principal,
    id: i64,
) -> Result<(), RegistryError> {
    revoke_user_token(registry, user.user_id, id).await
}

async fn revoke_user_token(
    registry: &Registry,
    user_id: i64,
    id: i64,
) -> Result<(), RegistryError> {
    registry
        .in_write_tx(async |tx| {
            let info = users::delete_token(tx, user_id, id).await?;
            users::bump_credentials_version(tx).await?;
            audit::record(
                tx,
                NewEntry::change(
                    &registry.actor,
                    Action::ApiTokenRevoke,
                    &id.to_string(),
                    Some(&serde_json::json!({"user": user_id, "name": info.name})),
                    None,
                )?,
            )
            .await?;
            Ok(())
        })
        .await
}

/// One API token with its owner, as the command line lists them.
#[derive(Debug, Clone)]
pub struct OwnedToken {
    /// The owner.
    pub user: UserInfo,
    /// The token (never its secret).
    pub token: TokenInfo,
}

/// Creates an API token for the active user with this e-mail address (for scripts and cron
/// jobs), acting as `registry.actor`; the secret is returned once.
pub async fn create_token_for(
    registry: &Registry,
    email: &str,
    name: &str,
) -> Result<(UserInfo, TokenInfo, String), RegistryError> {
    let email = email.trim().to_lowercase();
    let Some((principal, _)) = users::find_login(&registry.db, &email).await? else {
        return Err(Violation::new(
            "email",
            &email,
            "unknown_user",
            "no active user has this e-mail address",
        )
        .into());
    };
    let (token, secret) = create_token(registry, &principal, name).await?;
    let user = users::find_user(&registry.db, &email).await?;
    Ok((user, token, secret))
}

/// Every API token (never a secret), by owner's e-mail address, newest first per owner; only
/// those of `email` when given.
pub async fn list_all_tokens(
    registry: &Registry,
    email: Option<&str>,
) -> Result<Vec<OwnedToken>, RegistryError> {
    let wanted = email.map(|e| e.trim().to_lowercase());
    let mut out = Vec::new();
    for user in users::list_users(&registry.db).await? {
        if wanted.as_ref().is_some_and(|w| *w != user.email) {
            continue;
        }
        for token in users::list_tokens(&registry.db, user.id).await? {
            out.push(OwnedToken {
                user: user.clone(),
                token,
            });
        }
    }
    Ok(out)
}

/// Revokes API token `id`, whoever owns it (the command line's `token revoke`), audited.
pub async fn revoke_token_by_id(registry: &Registry, id: i64) -> Result<(), RegistryError> {
    let Some(owner) = users::token_owner(&registry.db, id).await? else {
        return Err(Violation::new("id", id, "unknown_token", "no API token has this id").into());
    };
    revoke_user_token(registry, owner, id).await
}

/// The user an API token (`Authorization: Bearer ...`) belongs to (from memory while the
/// credentials version stays the same, see [`super::credentials`]); its use is written at most
/// once a minute.
pub async fn token_user(
    registry: &Registry,
    token: &str,
) -> Result<Option<Principal>, RegistryError> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let cache = &registry.credentials;
    let version = cache.version(&registry.db).await?;
    let now = Utc::now();
    if let Some(Credential::Token { user, .. }) =
        cache.get(Kind::Token, &digest, version, Instant::now())
    {
        if cache.claim_use(&digest, now, users::TOKEN_USE_RESOLUTION) {
            users::touch_token(&registry.db, &hex::encode(digest), now).await?;
        }
        return Ok(Some(user));
    }
    let found = users::token_principal(&registry.db, &hex::encode(digest), now).await?;
    Ok(found.map(|(user, noted)| {
        cache.put(
            Kind::Token,
            digest,
            version,
            Credential::Token {
                user: user.clone(),
                noted,
            },
            Instant::now(),
        );
        user
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate_password().unwrap_or_default();
        let b = generate_password().unwrap_or_default();
        assert_eq!(a.chars().count(), 20);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_accounts_cost_a_real_verification() {
        use argon2::password_hash::PasswordHash;
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
