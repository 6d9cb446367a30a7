//! Backup, restore and check of an instance. A backup is one tar archive: a manifest (what is in
//! it, with each member's SHA-256 and the row counts of the copy), the database as a consistent
//! copy made while the service runs (SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump` in the custom
//! format, from the snapshot the counts are taken in), which holds the stored documents and
//! report files, and the files of the data directory that belong to the instance (the link
//! secret and `avtal.toml`). A restore writes the members into an empty data directory (and, on
//! PostgreSQL, runs `pg_restore` into an empty database) and compares the row counts with the
//! manifest; a check reads every stored document, signed copy and report file against its SHA-256 and
//! verifies the audit chain.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, IsolationLevel,
    PaginatorTrait, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Secret, Settings};
use crate::db::entities::{agreement, audit_log, document, organisation, report_file, signed_copy};
use crate::db::{self, store::StoreError};
use crate::domain::audit::VerifyOutcome;
use crate::registry::Registry;

/// Name of the manifest, the archive's first member.
pub const MANIFEST: &str = "avtal-backup.json";
/// Name of the SQLite database in the archive and in the data directory.
pub const DATABASE_FILE: &str = "avtal.db";
/// Name of the PostgreSQL dump (`pg_dump --format=custom`) in the archive.
pub const DUMP_FILE: &str = "avtal.pgdump";
/// Files of the data directory that belong to the instance and go into the archive.
pub const INSTANCE_FILES: &[&str] = &["link_secret", "avtal.toml"];
/// Version of the archive layout.
const FORMAT: u32 = 1;

/// Why a backup, restore or check could not be done.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// A restore into a data directory that holds something.
    #[error(
        "{0} is not empty: restore only into an empty (or new) data directory, so nothing is overwritten"
    )]
    NotEmpty(PathBuf),
    /// The archive is not an avtal backup, or is damaged.
    #[error("{0}")]
    Archive(String),
    /// A restore into a PostgreSQL database that holds tables.
    #[error(
        "the database of DATABASE_URL holds {0} table(s): restore only into an empty database (createdb a new one), so nothing is overwritten"
    )]
    DatabaseNotEmpty(i64),
    /// `pg_dump` or `pg_restore` is missing or failed.
    #[error("{0}")]
    Tool(String),
}

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => Self::Db(e),
            other => Self::Archive(other.to_string()),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Rows in a database, to compare a copy with its original.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Agreements.
    pub agreements: u64,
    /// Organisations.
    pub organisations: u64,
    /// Stored documents.
    pub documents: u64,
    /// Stored report files.
    pub report_files: u64,
    /// Signed copies of documents (absent in archives made before they existed).
    #[serde(default)]
    pub signed_copies: u64,
    /// Audit entries.
    pub audit_entries: u64,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} agreements, {} organisations, {} documents, {} signed copies, {} report files, {} audit entries",
            self.agreements,
            self.organisations,
            self.documents,
            self.signed_copies,
            self.report_files,
            self.audit_entries
        )
    }
}

/// Counts the rows of `db`.
pub async fn counts(db: &impl ConnectionTrait) -> Result<Counts, DbErr> {
    Ok(Counts {
        agreements: agreement::Entity::find().count(db).await?,
        organisations: organisation::Entity::find().count(db).await?,
        documents: document::Entity::find().count(db).await?,
        report_files: report_file::Entity::find().count(db).await?,
        signed_copies: signed_copy::Entity::find().count(db).await?,
        audit_entries: audit_log::Entity::find().count(db).await?,
    })
}

/// Which database the backup was made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// SQLite: the database is in the archive.
    Sqlite,
    /// PostgreSQL: the archive holds a `pg_dump` of the database.
    Postgres,
}

/// What an archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Archive layout version.
    pub format: u32,
    /// When the backup was made.
    pub created_at: DateTime<Utc>,
    /// The database it was made of.
    pub database: DatabaseKind,
    /// Rows in the database copy (on PostgreSQL: counted in the snapshot `pg_dump` dumped).
    pub counts: Counts,
    /// Every other member with its SHA-256 (lower-case hex).
    pub files: BTreeMap<String, String>,
}

fn sha256_file(path: &Path) -> Result<String, BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Makes a consistent copy of the SQLite database behind `db` at `to` while others write to it.
async fn copy_sqlite(db: &DatabaseConnection, to: &Path) -> Result<(), BackupError> {
    let path = to
        .to_str()
        .ok_or_else(|| BackupError::Archive(format!("{} is not UTF-8", to.display())))?;
    db.execute_unprepared(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .await?;
    Ok(())
}

/// A PostgreSQL URL as `pg_dump` and `pg_restore` take it, and its password apart: that goes to
/// them in `PGPASSWORD`, never on a command line others can read.
fn libpq_target(url: &Secret) -> Result<(String, Option<String>), BackupError> {
    let mut u = url::Url::parse(url.expose())
        .map_err(|e| BackupError::Tool(format!("DATABASE_URL is not a URL: {e}")))?;
    let password = u.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    u.set_password(None)
        .map_err(|()| BackupError::Tool("DATABASE_URL has no host".to_owned()))?;
    Ok((u.to_string(), password))
}

/// Runs a PostgreSQL client tool (`pg_dump`, `pg_restore`) to the end.
async fn run_pg_tool(
    program: &str,
    args: &[std::ffi::OsString],
    password: Option<&str>,
) -> Result<(), BackupError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            BackupError::Tool(format!(
                "{program} is not on PATH: install the PostgreSQL client tools (Debian: postgresql-client) of the server's major version or newer"
            ))
        } else {
            BackupError::Tool(format!("cannot run {program}: {e}"))
        }
    })?;
    if !out.status.success() {
        return Err(BackupError::Tool(format!(
            "{program} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Dumps the PostgreSQL database behind `db` to `to` with `pg_dump` while others write to it,
/// and counts its rows in the very snapshot that is dumped (exported from a read-only
/// `REPEATABLE READ` transaction held open until `pg_dump` is done).
async fn dump_postgres(
    db: &DatabaseConnection,
    url: &Secret,
    to: &Path,
) -> Result<Counts, BackupError> {
    let (target, password) = libpq_target(url)?;
    let tx = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    let row = tx
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_export_snapshot() AS snapshot",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("pg_export_snapshot() returned no row".to_owned()))?;
    let snapshot: String = row.try_get("", "snapshot")?;
    let counts = counts(&tx).await?;
    let args: Vec<std::ffi::OsString> = vec![
        "--format=custom".into(),
        format!("--snapshot={snapshot}").into(),
        "--file".into(),
        to.as_os_str().to_owned(),
        "--dbname".into(),
        target.into(),
    ];
    run_pg_tool("pg_dump", &args, password.as_deref()).await?;
    tx.commit().await?;
    Ok(counts)
}

/// Tables in the `public` schema of the PostgreSQL database at `url`.
async fn postgres_tables(url: &Secret) -> Result<i64, BackupError> {
    let conn = sea_orm::Database::connect(url.expose()).await?;
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname = 'public'",
        ))
        .await?;
    let n = match row {
        Some(r) => r.try_get::<i64>("", "n")?,
        None => 0,
    };
    conn.close().await?;
    Ok(n)
}

/// Writes a backup of the instance (its database and data directory) to `out`: first to
/// `<out>.partial`, renamed when complete, readable by the owner only (it holds the link secret).
pub async fn backup(registry: &Registry, out: &Path) -> Result<Manifest, BackupError> {
    let db = &registry.db;
    let data_dir = registry.settings.data_dir.as_path();
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(".avtal-backup-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    let mut members: Vec<(String, PathBuf)> = Vec::new();
    let (database, counts) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let copy = staging.path().join(DATABASE_FILE);
            copy_sqlite(db, &copy).await?;
            // Counted in the copy itself, so the counts are those of the snapshot.
            let url = format!("sqlite://{}?mode=ro", copy.display());
            let conn = sea_orm::Database::connect(url).await?;
            let counts = counts(&conn).await?;
            conn.close().await?;
            members.push((DATABASE_FILE.to_owned(), copy));
            (DatabaseKind::Sqlite, counts)
        }
        _ => {
            let dump = staging.path().join(DUMP_FILE);
            let counts = dump_postgres(db, &registry.settings.database_url(), &dump).await?;
            members.push((DUMP_FILE.to_owned(), dump));
            (DatabaseKind::Postgres, counts)
        }
    };
    for name in INSTANCE_FILES {
        let path = data_dir.join(name);
        if path.is_file() {
            members.push(((*name).to_owned(), path));
        }
    }
    let mut files = BTreeMap::new();
    for (name, path) in &members {
        files.insert(name.clone(), sha256_file(path)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        created_at: Utc::now(),
        database,
        counts,
        files,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Archive(format!("manifest: {e}")))?;

    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = owner_only_file(&partial)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest_json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(u64::try_from(manifest.created_at.timestamp()).unwrap_or(0));
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, manifest_json.as_slice())
        .map_err(io(&partial))?;
    for (name, path) in &members {
        let mut f = std::fs::File::open(path).map_err(io(path))?;
        tar.append_file(name, &mut f).map_err(io(&partial))?;
    }
    let mut w = tar.into_inner().map_err(io(&partial))?;
    w.flush().map_err(io(&partial))?;
    w.get_ref().sync_all().map_err(io(&partial))?;
    drop(w);
    std::fs::rename(&partial, out).map_err(io(out))?;
    Ok(manifest)
}

fn owner_only_file(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(io(path))
}

/// Whether `dir` is missing or holds nothing.
fn is_empty_dir(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Restores the archive `from` into the data directory of `settings`, which must be empty or
/// missing, and, for a PostgreSQL backup, into the (empty) database of `DATABASE_URL` with
/// `pg_restore`. Every member is checked against the manifest's SHA-256 and the restored rows
/// against its counts; on any problem what was written is removed again (`pg_restore` runs in one
/// transaction, so a failed one leaves the database empty).
pub async fn restore(from: &Path, settings: &Settings) -> Result<Manifest, BackupError> {
    let data_dir = settings.data_dir.as_path();
    let manifest = read_manifest(from)?;
    let url = settings.database_url();
    let to_postgres = !url.expose().starts_with("sqlite:");
    match (manifest.database, to_postgres) {
        (DatabaseKind::Sqlite, true) => {
            return Err(BackupError::Archive(format!(
                "{}: the archive holds a SQLite database, but DATABASE_URL names PostgreSQL: unset it to restore into the data directory",
                from.display()
            )));
        }
        (DatabaseKind::Postgres, false) => {
            return Err(BackupError::Archive(format!(
                "{}: the archive holds a PostgreSQL database: set DATABASE_URL to a new, empty PostgreSQL database to restore into",
                from.display()
            )));
        }
        _ => {}
    }
    if !is_empty_dir(data_dir)? {
        return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
    }
    let has_dump = manifest.files.contains_key(DUMP_FILE);
    if to_postgres && has_dump {
        let tables = postgres_tables(&url).await?;
        if tables > 0 {
            return Err(BackupError::DatabaseNotEmpty(tables));
        }
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let mut written = Vec::new();
    let result = async {
        let m = unpack(from, data_dir, &mut written)?;
        let restored = match m.database {
            DatabaseKind::Sqlite => {
                let path = data_dir.join(DATABASE_FILE);
                let conn =
                    sea_orm::Database::connect(format!("sqlite://{}?mode=ro", path.display()))
                        .await?;
                let c = counts(&conn).await?;
                conn.close().await?;
                Some(c)
            }
            DatabaseKind::Postgres if has_dump => {
                let dump = data_dir.join(DUMP_FILE);
                let (target, password) = libpq_target(&url)?;
                let args: Vec<std::ffi::OsString> = vec![
                    "--single-transaction".into(),
                    "--exit-on-error".into(),
                    "--no-owner".into(),
                    "--no-privileges".into(),
                    "--dbname".into(),
                    target.into(),
                    dump.as_os_str().to_owned(),
                ];
                run_pg_tool("pg_restore", &args, password.as_deref()).await?;
                std::fs::remove_file(&dump).map_err(io(&dump))?;
                let conn = sea_orm::Database::connect(url.expose()).await?;
                let c = counts(&conn).await?;
                conn.close().await?;
                Some(c)
            }
            // An archive of the files alone (no database in it).
            DatabaseKind::Postgres => None,
        };
        if let Some(got) = restored
            && got != m.counts
        {
            return Err(BackupError::Archive(format!(
                "{}: the restored database holds {got}, the manifest says {}",
                from.display(),
                m.counts
            )));
        }
        Ok(m)
    }
    .await;
    if result.is_err() {
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

/// The manifest, the archive's first member.
pub fn read_manifest(from: &Path) -> Result<Manifest, BackupError> {
    let damaged = |what: String| BackupError::Archive(format!("{}: {what}", from.display()));
    let file = std::fs::File::open(from).map_err(io(from))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = archive.entries().map_err(io(from))?;
    let mut entry = entries
        .next()
        .ok_or_else(|| damaged("empty archive".to_owned()))?
        .map_err(io(from))?;
    let name = entry
        .path()
        .map_err(io(from))?
        .to_str()
        .map(str::to_owned)
        .unwrap_or_default();
    parse_manifest(&mut entry, &name, from)
}

/// Reads the manifest from the archive's first member, `name`.
fn parse_manifest(entry: &mut impl Read, name: &str, from: &Path) -> Result<Manifest, BackupError> {
    let damaged = |what: String| BackupError::Archive(format!("{}: {what}", from.display()));
    if name != MANIFEST {
        return Err(damaged(format!(
            "not an avtal backup (the first member is {name:?}, not {MANIFEST})"
        )));
    }
    let mut json = Vec::new();
    entry
        .take(1 << 20)
        .read_to_end(&mut json)
        .map_err(io(from))?;
    let m: Manifest = serde_json::from_slice(&json)
        .map_err(|e| damaged(format!("the manifest is unreadable: {e}")))?;
    if m.format != FORMAT {
        return Err(damaged(format!(
            "archive format {} is not the supported {FORMAT}",
            m.format
        )));
    }
    Ok(m)
}

fn unpack(
    from: &Path,
    data_dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<Manifest, BackupError> {
    let damaged = |what: String| BackupError::Archive(format!("{}: {what}", from.display()));
    let file = std::fs::File::open(from).map_err(io(from))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut entries = archive.entries().map_err(io(from))?;
    let mut manifest: Option<Manifest> = None;
    let mut seen = Vec::new();
    for entry in entries.by_ref() {
        let mut entry = entry.map_err(io(from))?;
        let name = entry
            .path()
            .map_err(io(from))?
            .to_str()
            .map(str::to_owned)
            .unwrap_or_default();
        let Some(m) = &manifest else {
            manifest = Some(parse_manifest(&mut entry, &name, from)?);
            continue;
        };
        // Only the members the manifest lists, by their plain names: nothing lands outside
        // the data directory.
        let Some(expected) = m.files.get(&name) else {
            return Err(damaged(format!("unexpected member {name:?}")));
        };
        let path = data_dir.join(&name);
        let out = {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            opts.open(&path).map_err(io(&path))?
        };
        written.push(path.clone());
        let mut hashing = HashingWriter {
            inner: std::io::BufWriter::new(out),
            hasher: Sha256::new(),
        };
        std::io::copy(&mut entry, &mut hashing).map_err(io(&path))?;
        hashing.inner.flush().map_err(io(&path))?;
        hashing.inner.get_ref().sync_all().map_err(io(&path))?;
        let got = hex::encode(hashing.hasher.finalize());
        if &got != expected {
            return Err(damaged(format!(
                "{name} does not match its SHA-256 in the manifest (damaged archive)"
            )));
        }
        seen.push(name);
    }
    let m = manifest.ok_or_else(|| damaged("empty archive".to_owned()))?;
    if let Some(missing) = m.files.keys().find(|k| !seen.contains(k)) {
        return Err(damaged(format!("{missing} is listed but missing")));
    }
    Ok(m)
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Stored documents read.
    pub documents: u64,
    /// Stored report files read.
    pub report_files: u64,
    /// Signed copies of documents read.
    pub signed_copies: u64,
    /// Documents, signed copies and report files whose bytes do not match their SHA-256 or size, e.g.
    /// `document 12`.
    pub damaged: Vec<String>,
    /// The audit chain.
    pub audit: VerifyOutcome,
}

impl CheckReport {
    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.damaged.is_empty() && self.audit.intact
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} documents, {} signed copies and {} report files read, {} damaged{}",
            self.documents,
            self.signed_copies,
            self.report_files,
            self.damaged.len(),
            if self.damaged.is_empty() {
                String::new()
            } else {
                format!(": {}", self.damaged.join(", "))
            }
        )?;
        write!(f, "{}", self.audit)
    }
}

/// Reads every stored document, signed copy and report file against its SHA-256 and size, and
/// verifies the audit chain.
pub async fn check(registry: &Registry) -> Result<CheckReport, BackupError> {
    let db = &registry.db;
    use db::documents::{Stored, damaged_contents};
    let (documents, bad_documents) = damaged_contents(db, Stored::Document).await?;
    let (signed_copies, bad_copies) = damaged_contents(db, Stored::SignedCopy).await?;
    let (report_files, bad_files) = damaged_contents(db, Stored::ReportFile).await?;
    let damaged = bad_documents
        .iter()
        .map(|id| format!("document {id}"))
        .chain(bad_copies.iter().map(|id| format!("signed copy {id}")))
        .chain(bad_files.iter().map(|id| format!("report file {id}")))
        .collect();
    let audit = db::audit::verify(db).await?;
    Ok(CheckReport {
        documents,
        signed_copies,
        report_files,
        damaged,
        audit,
    })
}
