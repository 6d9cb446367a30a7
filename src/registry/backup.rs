//! Backup, restore and check of an instance. A backup is one tar archive: a manifest (what is in
//! it, with each member's SHA-256 and the row counts of the copy), the SQLite database as a
//! consistent copy made while the service runs (`VACUUM INTO`; it holds the stored documents and
//! report files), and the files of the data directory that belong to the instance (the link
//! secret and `avtal.toml`). On PostgreSQL the database is left to `pg_dump` and the archive
//! holds the files. A restore writes the members into an empty data directory; a check reads
//! every stored document, signed copy and report file against its SHA-256 and verifies the
//! audit chain.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, PaginatorTrait};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::entities::{agreement, audit_log, document, organisation, report_file, signed_copy};
use crate::db::{self, store::StoreError};
use crate::domain::audit::VerifyOutcome;
use crate::registry::Registry;

/// Name of the manifest, the archive's first member.
pub const MANIFEST: &str = "avtal-backup.json";
/// Name of the SQLite database in the archive and in the data directory.
pub const DATABASE_FILE: &str = "avtal.db";
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
    /// PostgreSQL: the database is backed up with `pg_dump`, not in the archive.
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
    /// Rows in the database copy (on PostgreSQL: in the live database when the files were taken).
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
        _ => (DatabaseKind::Postgres, counts(db).await?),
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

/// Restores the archive `from` into `data_dir`, which must be empty or missing. Every member is
/// checked against the manifest's SHA-256; on any problem what was written is removed again.
pub fn restore(from: &Path, data_dir: &Path) -> Result<Manifest, BackupError> {
    if !is_empty_dir(data_dir)? {
        return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let mut written = Vec::new();
    let result = unpack(from, data_dir, &mut written);
    if result.is_err() {
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
    }
    result
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
            if name != MANIFEST {
                return Err(damaged(format!(
                    "not an avtal backup (the first member is {name:?}, not {MANIFEST})"
                )));
            }
            let mut json = Vec::new();
            entry
                .by_ref()
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
            manifest = Some(m);
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
