//! Where the link-signing key comes from: the `link_secret` setting, else `<data_dir>/link_secret`,
//! generated once (32 random bytes, hex, mode 0600) so links survive restarts. Never logged.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::token::LinkKey;
use crate::config::Settings;

/// Shortest `link_secret` accepted, in characters.
pub const MIN_SECRET_LEN: usize = 32;

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The configured secret is too short to resist guessing.
    #[error("link_secret must be at least {MIN_SECRET_LEN} characters")]
    TooShort,
    /// The key file could not be read or written.
    #[error("link key file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The system's random source failed.
    #[error("no random bytes for a new link key: {0}")]
    Random(String),
}

/// The key file in a data directory.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("link_secret")
}

/// The signing key: the configured secret, else the key file, created on first use.
pub fn load_or_create(settings: &Settings) -> Result<LinkKey, KeyError> {
    if let Some(secret) = &settings.link_secret
        && !secret.expose().is_empty()
    {
        if secret.expose().chars().count() < MIN_SECRET_LEN {
            return Err(KeyError::TooShort);
        }
        return Ok(LinkKey::new(secret.expose().as_bytes().to_vec()));
    }
    let path = key_file(&settings.data_dir);
    let file_error = |source| KeyError::File {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= MIN_SECRET_LEN => {
            return Ok(LinkKey::new(text.trim().as_bytes().to_vec()));
        }
        Ok(_) => return Err(KeyError::TooShort),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(e)),
    }
    std::fs::create_dir_all(&settings.data_dir).map_err(file_error)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(hex.as_bytes()).map_err(file_error)?;
            f.sync_all().map_err(file_error)?;
            tracing::info!(file = %path.display(), "generated a new link-signing key");
            Ok(LinkKey::new(hex.into_bytes()))
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(&path).map_err(file_error)?;
            if text.trim().len() < MIN_SECRET_LEN {
                return Err(KeyError::TooShort);
            }
            Ok(LinkKey::new(text.trim().as_bytes().to_vec()))
        }
        Err(e) => Err(file_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::links::token::{LinkClaims, Purpose};

    fn claims() -> LinkClaims {
        LinkClaims {
            reference: crate::domain::agreement::Reference::parse("AGR-2025-0005")
                .unwrap_or_else(|e| panic!("{e}")),
            report: "r".into(),
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap_or_default(),
            purpose: Purpose::Acknowledge,
            expires: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default(),
        }
    }

    #[test]
    fn a_generated_key_is_kept_private_and_survives_a_restart() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let s = Settings {
            data_dir: dir.path().join("data"),
            ..Settings::default()
        };
        let first = load_or_create(&s)?;
        let token = first.sign(&claims());
        let again = load_or_create(&s)?;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        assert_eq!(again.verify(&token, today), Ok(claims()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key_file(&s.data_dir))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Ok(())
    }

    #[test]
    fn a_configured_secret_wins_and_must_be_long_enough() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut s = Settings {
            data_dir: dir.path().to_path_buf(),
            link_secret: Some(Secret::new("short")),
            ..Settings::default()
        };
        assert!(matches!(load_or_create(&s), Err(KeyError::TooShort)));
        s.link_secret = Some(Secret::new("x".repeat(40)));
        load_or_create(&s)?;
        assert!(
            !key_file(dir.path()).exists(),
            "no file when the secret is configured"
        );
        Ok(())
    }
}
