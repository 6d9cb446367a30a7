//! Storage of accounts: users, sessions and API tokens. Secrets arrive here already hashed.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, SqlErr,
};
use serde::Serialize;

use super::entities::{api_token, app_user, user_session};
use super::store::StoreError;
use crate::domain::access::{Principal, Role};
use crate::domain::org_number::OrgNumber;

/// A user as pages and the audit log show it: everything but the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// Id.
    pub id: i64,
    /// E-mail address (the login name).
    pub email: String,
    /// Role.
    pub role: Role,
    /// Organisation of an officer or enterprise user.
    pub org: Option<String>,
    /// Whether the user can sign in.
    pub active: bool,
}

/// One API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Id.
    pub id: i64,
    /// The owner's label.
    pub name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last request made with it.
    pub last_used_at: Option<DateTime<Utc>>,
}

fn info(m: &app_user::Model) -> Result<UserInfo, StoreError> {
    Ok(UserInfo {
        id: m.id,
        email: m.email.clone(),
        role: Role::parse(&m.role).map_err(|e| corrupt(&m.email, e))?,
        org: m.org_number.clone(),
        active: m.active,
    })
}

fn corrupt(key: &str, e: String) -> StoreError {
    crate::error::Unexpected(format!("stored user {key} is unreadable: {e}")).into()
}

fn principal(m: &app_user::Model) -> Result<Principal, StoreError> {
    Ok(Principal {
        user_id: m.id,
        email: m.email.clone(),
        role: Role::parse(&m.role).map_err(|e| corrupt(&m.email, e))?,
        org: m
            .org_number
            .as_deref()
            .map(OrgNumber::parse)
            .transpose()
            .map_err(|e| corrupt(&m.email, e.to_string()))?,
    })
}

/// Inserts a user; a taken e-mail address is `Duplicate`.
pub async fn insert_user(
    db: &impl ConnectionTrait,
    email: &str,
    password_hash: &str,
    role: Role,
    org: Option<&OrgNumber>,
) -> Result<UserInfo, StoreError> {
    let now = Utc::now();
    let model = app_user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        role: Set(role.code().to_owned()),
        org_number: Set(org.map(ToString::to_string)),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match model.insert(db).await {
        Ok(m) => info(&m),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(StoreError::Duplicate {
                what: "user",
                key: email.to_owned(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The active user with this e-mail address and its password hash.
pub async fn find_login(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<(Principal, String)>, StoreError> {
    let m = app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email))
        .filter(app_user::Column::Active.eq(true))
        .one(db)
        .await?;
    m.map(|m| Ok((principal(&m)?, m.password_hash))).transpose()
}

/// Every user, by e-mail address.
pub async fn list_users(db: &impl ConnectionTrait) -> Result<Vec<UserInfo>, StoreError> {
    app_user::Entity::find()
        .order_by_asc(app_user::Column::Email)
        .all(db)
        .await?
        .iter()
        .map(info)
        .collect()
}

/// The user with this e-mail address, active or not.
pub async fn find_user(db: &impl ConnectionTrait, email: &str) -> Result<UserInfo, StoreError> {
    app_user::Entity::find()
        .filter(app_user::Column::Email.eq(email))
        .one(db)
        .await?
        .as_ref()
        .map(info)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            key: email.to_owned(),
        })
}

/// Marks user `id` active or not.
pub async fn set_active(
    db: &impl ConnectionTrait,
    id: i64,
    active: bool,
) -> Result<(), StoreError> {
    app_user::ActiveModel {
        id: Set(id),
        active: Set(active),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Replaces the password hash of user `id`.
pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: i64,
    password_hash: &str,
) -> Result<(), StoreError> {
    app_user::ActiveModel {
        id: Set(id),
        password_hash: Set(password_hash.to_owned()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Ends every session of user `id`; returns how many there were.
pub async fn delete_user_sessions(db: &impl ConnectionTrait, id: i64) -> Result<u64, StoreError> {
    Ok(user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(id))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes every API token of user `id`; returns how many there were.
pub async fn delete_user_tokens(db: &impl ConnectionTrait, id: i64) -> Result<u64, StoreError> {
    Ok(api_token::Entity::delete_many()
        .filter(api_token::Column::UserId.eq(id))
        .exec(db)
        .await?
        .rows_affected)
}

async fn active_principal(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<Principal>, StoreError> {
    let m = app_user::Entity::find_by_id(user_id)
        .filter(app_user::Column::Active.eq(true))
        .one(db)
        .await?;
    m.as_ref().map(principal).transpose()
}

/// Stores a session under the hash of its token.
pub async fn insert_session(
    db: &impl ConnectionTrait,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    user_session::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        user_id: Set(user_id),
        csrf_token: Set(csrf.to_owned()),
        created_at: Set(Utc::now()),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The user, CSRF token and expiry of an unexpired session of an active user.
pub async fn session(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Principal, String, DateTime<Utc>)>, StoreError> {
    let Some(s) = user_session::Entity::find_by_id(token_hash.to_owned())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if s.expires_at <= now {
        delete_session(db, token_hash).await?;
        return Ok(None);
    }
    Ok(active_principal(db, s.user_id)
        .await?
        .map(|p| (p, s.csrf_token, s.expires_at)))
}

/// Deletes one session (logout), and every expired one.
pub async fn delete_session(db: &impl ConnectionTrait, token_hash: &str) -> Result<(), StoreError> {
    user_session::Entity::delete_many()
        .filter(
            Condition::any()
                .add(user_session::Column::TokenHash.eq(token_hash))
                .add(user_session::Column::ExpiresAt.lte(Utc::now())),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Stores an API token under the hash of its secret.
pub async fn insert_token(
    db: &impl ConnectionTrait,
    user_id: i64,
    name: &str,
    token_hash: &str,
) -> Result<TokenInfo, StoreError> {
    let m = api_token::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(token_hash.to_owned()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(TokenInfo {
        id: m.id,
        name: m.name,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    })
}

/// The tokens of one user, newest first.
pub async fn list_tokens(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<TokenInfo>, StoreError> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| TokenInfo {
            id: m.id,
            name: m.name,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        })
        .collect())
}

/// The user id that token `id` belongs to, if the token exists.
pub async fn token_owner(db: &impl ConnectionTrait, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|m| m.user_id))
}

/// Deletes token `id` of user `user_id`; `NotFound` when the user has no such token.
pub async fn delete_token(
    db: &impl ConnectionTrait,
    user_id: i64,
    id: i64,
) -> Result<TokenInfo, StoreError> {
    let not_found = || StoreError::NotFound {
        what: "token",
        key: id.to_string(),
    };
    let m = api_token::Entity::find_by_id(id)
        .filter(api_token::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    api_token::Entity::delete_by_id(id).exec(db).await?;
    Ok(TokenInfo {
        id: m.id,
        name: m.name,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    })
}

/// How often the last use of a token is written: at most once a minute per token.
pub const TOKEN_USE_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);

/// The active user a token belongs to and when the token's use was last written; notes the use
/// when the stored one is older than [`TOKEN_USE_RESOLUTION`].
pub async fn token_principal(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(Principal, DateTime<Utc>)>, StoreError> {
    let Some(t) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let noted = match t.last_used_at {
        Some(at) if now - at <= TOKEN_USE_RESOLUTION => at,
        _ => {
            touch_token(db, token_hash, now).await?;
            now
        }
    };
    Ok(active_principal(db, t.user_id).await?.map(|p| (p, noted)))
}

/// Notes that the token with this hash was used at `now`.
pub async fn touch_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(api_token::Column::TokenHash.eq(token_hash))
        .exec(db)
        .await?;
    Ok(())
}

/// The credentials version: a number that every change ending a credential raises (see
/// [`bump_credentials_version`]); 0 before the first.
pub async fn credentials_version(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM credentials_version WHERE id = 1",
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get("", "version")?,
        None => 0,
    })
}

/// Raises the credentials version, in the transaction of the change that ends a credential
/// (revoke, disable, password change, logout), so every instance drops what it cached.
pub async fn bump_credentials_version(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    db.execute_unprepared("UPDATE credentials_version SET version = version + 1 WHERE id = 1")
        .await?;
    Ok(())
}
