//! Typed settings: defaults, then `avtal.toml` in the data directory (or `--config`), then `AVTAL_*`
//! environment variables and `DATABASE_URL`. Secrets are redacted in `Debug`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::deadlines::ReminderLadders;
use crate::domain::money::Sek;
use crate::domain::rules::Threshold;

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// All settings of one avtal instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Where the SQLite database, documents and e-mail files live.
    pub data_dir: PathBuf,
    /// PostgreSQL or SQLite URL; `None` means SQLite at `<data_dir>/avtal.db`.
    pub database_url: Option<Secret>,
    /// Address `avtal serve` listens on.
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes; a larger declared `Content-Length` gets 413
    /// before the body is read.
    pub max_body_bytes: usize,
    /// Seconds a client may take to send a request's headers; then the connection is closed.
    pub header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body; then the request fails.
    pub body_timeout_secs: u64,
    /// Connections in the SQLite pool (WAL lets readers run beside one writer).
    pub sqlite_pool_size: u32,
    /// Connections in the PostgreSQL pool.
    pub postgres_pool_size: u32,
    /// Direct-award thresholds with the date each applies from.
    pub direct_award_thresholds: Vec<ThresholdSetting>,
    /// A fixed "today" for demos and tests; the real date when unset.
    pub today: Option<NaiveDate>,
    /// Reminder ladders per deadline kind (days before the deadline).
    pub reminders: ReminderLadders,
    /// The typst CLI (`AVTAL_TYPST`); `typst` on `PATH` when unset.
    pub typst: Option<PathBuf>,
    /// The only directory document fonts come from (`AVTAL_FONT_DIR`).
    pub font_dir: PathBuf,
    /// Longest one document may take to compile, in seconds.
    pub render_timeout_secs: u64,
    /// Documents compiled at the same time.
    pub render_concurrency: usize,
    /// E-mail delivery of the reminders.
    pub notify: NotifySettings,
    /// The address people reach the service at, e.g. `https://avtal.kommun.example`: absolute
    /// links in e-mails and feeds start with it, and with `https` the session cookie is `Secure`.
    pub public_url: String,
    /// Key that signs the links in reminder e-mails (at least 32 characters); when unset, a
    /// random one is generated once into `<data_dir>/link_secret` (mode 0600).
    pub link_secret: Option<Secret>,
    /// Days a link in a reminder e-mail stays valid from the day it was sent.
    pub link_valid_days: u32,
    /// Largest report file accepted through a link, in bytes.
    pub upload_max_bytes: usize,
    /// OCDS exports.
    #[serde(default)]
    pub ocds: OcdsSettings,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` header names the client (addresses
    /// or networks, e.g. `["127.0.0.1", "10.0.0.0/8"]`); the header of any other peer is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<ProxyNet>,
}

/// An address or network of trusted reverse proxies: `10.1.2.3`, `10.0.0.0/8`, `::1`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Parses an address or `address/prefix`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("trusted_proxies: {s:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix =
            match prefix {
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                    format!("trusted_proxies: the prefix of {s:?} is not 0..={max}")
                })?,
                None => max,
            };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl TryFrom<String> for ProxyNet {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<ProxyNet> for String {
    fn from(p: ProxyNet) -> String {
        format!("{}/{}", p.addr, p.prefix)
    }
}

/// How OCDS exports name their releases (`[ocds]` in `avtal.toml`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OcdsSettings {
    /// Prefix of every ocid; the agreement's reference follows it. Register your own with the
    /// Open Contracting Partnership before publishing.
    pub prefix: String,
    /// Publisher name in every package.
    pub publisher: String,
}

impl Default for OcdsSettings {
    fn default() -> Self {
        Self {
            prefix: "ocds-avtal-".to_owned(),
            publisher: "Avtalsregistret".to_owned(),
        }
    }
}

/// How reminders are turned into e-mail and delivered (`[notify]` in `avtal.toml`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct NotifySettings {
    /// The sender, e.g. `Avtalsregistret <avtal@kommun.example>`.
    pub from: String,
    /// One message a day per recipient listing all their reminders, instead of one each.
    pub digest: bool,
    /// Seconds between sweep + send runs in `avtal serve`; 0 disables them.
    pub interval_seconds: u64,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// Messages claimed per batch.
    pub batch_size: u32,
    /// Seconds a claimed message is reserved for its sender; the sender renews the claim while
    /// it works through the batch, so only a sender that stopped loses it to another.
    pub claim_seconds: u32,
    /// Seconds to connect to the SMTP server and get through its greeting, EHLO, STARTTLS and
    /// login.
    pub connect_timeout_seconds: u64,
    /// Seconds one message may take on an open connection (MAIL, RCPT, DATA and the reply).
    pub command_timeout_seconds: u64,
    /// Consecutive connection failures or timeouts after which a send pass stops and leaves the
    /// rest pending (their attempts not counted); the next pass tries one message first. A pass
    /// against a server that does not answer thus costs at most `breaker_failures` x
    /// (`connect_timeout_seconds` + `command_timeout_seconds`): 75 s with the defaults.
    pub breaker_failures: u32,
    /// The SMTP server; without one, messages are written as `.eml` files to `<data_dir>/outbox/`.
    pub smtp: Option<SmtpSettings>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            from: "Avtalsregistret <avtal@localhost>".to_owned(),
            digest: false,
            interval_seconds: 300,
            max_attempts: 8,
            batch_size: 50,
            claim_seconds: 600,
            connect_timeout_seconds: 10,
            command_timeout_seconds: 15,
            breaker_failures: 3,
            smtp: None,
        }
    }
}

/// An SMTP server (`[notify.smtp]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Port; default 25 without TLS, 587 with STARTTLS, 465 with TLS.
    #[serde(default)]
    pub port: Option<u16>,
    /// Transport security.
    #[serde(default)]
    pub tls: SmtpTls,
    /// User name for SMTP AUTH; never logged.
    #[serde(default)]
    pub username: Option<Secret>,
    /// Password for SMTP AUTH; never logged.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A PEM file of CA certificates trusted besides the webpki (Mozilla) roots, e.g. the
    /// municipality's own CA that signed the mail server's certificate (STARTTLS and TLS).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Transport security towards the SMTP server.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (only for a relay on the same host or network).
    None,
    /// STARTTLS, required.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// One direct-award threshold in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ThresholdSetting {
    /// First day it applies.
    pub from: NaiveDate,
    /// The amount in kronor.
    pub amount_sek: Sek,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 2 * 1024 * 1024,
            header_timeout_secs: 10,
            body_timeout_secs: 120,
            sqlite_pool_size: 4,
            postgres_pool_size: 10,
            direct_award_thresholds: vec![ThresholdSetting {
                from: NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default(),
                amount_sek: Sek::from_ore(70_000_000),
            }],
            today: None,
            reminders: ReminderLadders::default(),
            typst: None,
            font_dir: PathBuf::from("/usr/share/fonts/truetype/dejavu"),
            render_timeout_secs: 30,
            render_concurrency: 2,
            notify: NotifySettings::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            link_secret: None,
            link_valid_days: 60,
            upload_max_bytes: 20 * 1024 * 1024,
            ocds: OcdsSettings::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Settings {
    /// Loads defaults, then the config file (the given one, else `<data_dir>/avtal.toml` if present), then the environment.
    pub fn load(data_dir: Option<&Path>, config_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut defaults = Settings::default();
        if let Some(d) = data_dir {
            defaults.data_dir = d.to_path_buf();
        }
        let file = config_file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| defaults.data_dir.join("avtal.toml"));
        let mut fig = Figment::from(Serialized::defaults(&defaults));
        if config_file.is_some() || file.exists() {
            fig = fig.merge(Toml::file_exact(&file));
        }
        fig = fig
            .merge(Env::prefixed("AVTAL_").ignore(&["DATA_DIR"]).split("__"))
            .merge(Env::raw().only(&["DATABASE_URL"]));
        let mut settings: Settings = fig.extract()?;
        if let Some(d) = data_dir {
            settings.data_dir = d.to_path_buf();
        }
        Ok(settings)
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> Secret {
        match &self.database_url {
            Some(url) if !url.expose().is_empty() => url.clone(),
            _ => Secret::new(format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("avtal.db").display()
            )),
        }
    }

    /// Thresholds in the shape the rules take.
    pub fn thresholds(&self) -> Vec<Threshold> {
        self.direct_award_thresholds
            .iter()
            .map(|t| Threshold {
                from: t.from,
                amount: t.amount_sek,
            })
            .collect()
    }

    /// Whether session cookies are `Secure`: the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// Today's date: the configured one, or the local date in Sweden.
    pub fn today(&self) -> NaiveDate {
        self.today.unwrap_or_else(|| {
            chrono::Utc::now()
                .with_timezone(&chrono_tz::Europe::Stockholm)
                .date_naive()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_database_password() {
        let s = Settings {
            database_url: Some(Secret::new("postgres://u:hunter2@db/x")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_reminder_ladder_in_the_config_file_replaces_only_that_ladder() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("avtal.toml");
        std::fs::write(&file, "[reminders]\noption_decision = [120, 30, 0]\n")?;
        let s = Settings::load(Some(dir.path()), Some(&file))?;
        assert_eq!(s.reminders.option_decision, vec![120, 30, 0]);
        assert_eq!(
            s.reminders.report,
            ReminderLadders::default().report,
            "the other ladders keep their defaults"
        );
        Ok(())
    }

    #[test]
    fn smtp_settings_come_from_the_file_and_the_password_stays_hidden() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("avtal.toml");
        std::fs::write(
            &file,
            "[notify]\ndigest = true\n[notify.smtp]\nhost = \"smtp.kommun.example\"\ntls = \"tls\"\nusername = \"avtal\"\npassword = \"hunter2\"\n",
        )?;
        let s = Settings::load(Some(dir.path()), Some(&file))?;
        assert!(s.notify.digest);
        assert_eq!(
            s.notify.max_attempts, 8,
            "unset settings keep their defaults"
        );
        let smtp = s.notify.smtp.as_ref().map(|m| (m.host.as_str(), m.tls));
        assert_eq!(smtp, Some(("smtp.kommun.example", SmtpTls::Tls)));
        assert!(!format!("{s:?}").contains("hunter2"));
        Ok(())
    }

    #[test]
    fn debug_output_never_shows_the_link_secret() {
        let s = Settings {
            link_secret: Some(Secret::new("correct horse battery staple, 32+ chars")),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("horse"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() -> Result<(), String> {
        let ip = |s: &str| s.parse::<IpAddr>().map_err(|e| e.to_string());
        let net = ProxyNet::parse("10.0.0.0/8")?;
        assert!(net.contains(ip("10.200.1.2")?));
        assert!(!net.contains(ip("11.0.0.1")?));
        assert!(
            net.contains(ip("::ffff:10.0.0.1")?),
            "an IPv4-mapped peer is its IPv4 address"
        );
        let one = ProxyNet::parse("127.0.0.1")?;
        assert!(one.contains(ip("127.0.0.1")?) && !one.contains(ip("127.0.0.2")?));
        assert!(ProxyNet::parse("fd00::/8")?.contains(ip("fd12::1")?));
        assert!(ProxyNet::parse("0.0.0.0/0")?.contains(ip("8.8.8.8")?));
        for bad in ["proxy.example", "10.0.0.0/33", "::1/129", "10.0.0.0/x", ""] {
            assert!(ProxyNet::parse(bad).is_err(), "{bad:?} was accepted");
        }
        Ok(())
    }

    #[test]
    fn trusted_proxies_come_from_the_file_and_a_bad_one_is_refused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("avtal.toml");
        std::fs::write(&file, "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n")?;
        let s = Settings::load(Some(dir.path()), Some(&file))?;
        assert_eq!(s.trusted_proxies.len(), 2);
        std::fs::write(&file, "trusted_proxies = [\"proxy.example\"]\n")?;
        let e = Settings::load(Some(dir.path()), Some(&file))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("proxy.example"), "{e}");
        Ok(())
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let s = Settings {
            data_dir: PathBuf::from("/tmp/x"),
            ..Settings::default()
        };
        assert_eq!(
            s.database_url().expose(),
            "sqlite:///tmp/x/avtal.db?mode=rwc"
        );
    }
}
