//! Storage: connecting to SQLite or PostgreSQL, migrations, and the hand-written queries.
//!
//! Query functions take `&impl ConnectionTrait`, so they work on a pool or inside a transaction.

pub mod audit;
pub mod documents;
pub mod entities;
pub mod links;
pub mod login_limit;
pub mod outbox;
pub mod outcomes;
pub mod plans;
pub mod search;
pub mod store;
pub mod sweep;
pub mod users;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Settings;

/// SQLite's page cache per connection, in KiB.
pub(crate) const SQLITE_CACHE_KIB: u32 = 32 * 1024;
/// How much of the SQLite file is read through a memory map.
const SQLITE_MMAP_BYTES: u64 = 4 << 30;

/// Opens the configured database: SQLite in WAL mode with a small pool, or PostgreSQL.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.database_url();
    let is_sqlite = url.expose().starts_with("sqlite:");
    if is_sqlite {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create data directory {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    let mut opt = ConnectOptions::new(url.expose().to_owned());
    // Statement logging (with timings) only on request: statements carry user data.
    opt.sqlx_logging(std::env::var_os("AVTAL_LOG_SQL").is_some())
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10));
    if is_sqlite {
        opt.max_connections(settings.sqlite_pool_size.max(1))
            .min_connections(1);
        opt.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
                // The pages read thousands of stored deadlines per request: a larger page cache
                // per connection (the default is 2 MiB), and the file mapped so a page read is
                // not copied from the kernel's cache (address space only; the kernel shares it
                // between connections).
                .pragma("cache_size", format!("-{}", SQLITE_CACHE_KIB))
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
        });
    } else {
        opt.max_connections(settings.postgres_pool_size.max(1));
        let tls_asked = url.expose().contains("sslmode=")
            || url.expose().contains("ssl-mode=")
            || std::env::var_os("PGSSLMODE").is_some();
        opt.map_sqlx_postgres_opts(move |o| {
            // No JIT compilation: the list's plans are short, and a plan estimated above
            // `jit_above_cost` (a search for a common word) spent 60 ms compiling before it ran.
            let o = o.options([("jit", "off")]);
            // No TLS to this machine unless the URL (or `PGSSLMODE`) asks for a mode: sqlx 0.9
            // leaves Nagle's algorithm on (no `TCP_NODELAY`), so over TLS every statement larger
            // than one TLS record (16 KiB: bulk inserts, backfills) waited about 40 ms for the
            // server's delayed ACK before its second record went out. TLS over loopback protects
            // nothing, and `sslmode=prefer`, the default, already accepts a plain connection.
            if !tls_asked && is_loopback(o.get_host()) {
                o.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
            } else {
                o
            }
        });
    }
    Database::connect(opt).await
}

/// Whether `host` names this machine (a name, an address or a socket directory).
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Applies every pending migration, indexes for the free-text search the agreements that have
/// no search row yet (those stored before the index existed), sums the follow-up's running
/// totals if they are missing (`outcomes::fill_totals_if_missing`), then refreshes SQLite's planner
/// statistics where they are missing or stale, so the list filters pick the right covering
/// index (PostgreSQL's autovacuum does this by itself).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    let indexed = search::backfill(db).await.map_err(|e| match e {
        store::StoreError::Db(e) => e,
        other => DbErr::Custom(other.to_string()),
    })?;
    if indexed > 0 {
        tracing::info!(
            indexed,
            "indexed stored agreements for the free-text search"
        );
    }
    let swept = sweep::backfill(db).await?;
    if swept > 0 {
        tracing::info!(swept, "gave stored agreements their sweep day");
    }
    let tx = begin_write(db).await?;
    let filled = outcomes::fill_totals_if_missing(&tx)
        .await
        .map_err(|e| match e {
            store::StoreError::Db(e) => e,
            other => DbErr::Custom(other.to_string()),
        })?;
    tx.commit().await?;
    if filled {
        tracing::info!("summed the follow-up's running totals from the stored figures");
    }
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// Starts a read-then-write transaction: `BEGIN IMMEDIATE` on SQLite, so two writers queue on the
/// lock instead of failing when a reader upgrades; an ordinary transaction on PostgreSQL.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Checks that the database answers; returns its backend name.
pub async fn health(db: &DatabaseConnection) -> Result<&'static str, DbErr> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgresql",
        _ => "other",
    })
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_are_told_from_others() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.0.0.53",
            "::1",
            "[::1]",
            "/var/run/postgresql",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["db.example", "10.0.0.5", "::2", "localhost.example", ""] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
