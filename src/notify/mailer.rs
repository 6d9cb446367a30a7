//! Delivery: builds each outbox row into a MIME message (text + HTML alternatives and the `.ics`
//! file) and hands it to lettre, over SMTP connections kept open between messages (plain,
//! STARTTLS or implicit TLS, never falling back to plaintext) or, with no SMTP server configured,
//! as `.eml` files under `<data_dir>/outbox/`. Recipients and secrets never reach a log line.

use chrono::{DateTime, Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use super::NotifyError;
use crate::config::{NotifySettings, Settings, SmtpTls};
use crate::db::entities::outbox::Model as Row;
use crate::db::outbox::{self, whole_seconds};
use crate::domain::party::EmailAddress;

/// Longest wait between two attempts.
const MAX_BACKOFF_MINUTES: i64 = 6 * 60;

#[derive(Debug)]
enum Transport {
    /// SMTP over our own kept-open connections with `TCP_NODELAY`.
    Direct(SmtpPool),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// How a connection to the SMTP server is secured. There is no fallback: a connection that
/// cannot be secured as asked is given up before a command about a message is sent.
enum Security {
    /// Plain SMTP (`tls = "none"`).
    None,
    /// STARTTLS, required (`tls = "starttls"`): a server that does not offer it is refused.
    Starttls(TlsParameters),
    /// TLS from the first byte (`tls = "tls"`, SMTPS).
    Implicit {
        connector: tokio_rustls::TlsConnector,
        name: ServerName<'static>,
    },
}

impl Security {
    fn label(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starttls(_) => "starttls",
            Self::Implicit { .. } => "tls",
        }
    }
}

/// The certificates a server's chain may end in: the webpki (Mozilla) roots, plus those of
/// `notify.smtp.ca_file` (DER), for both STARTTLS and implicit TLS.
fn extra_roots(path: Option<&std::path::Path>) -> Result<Vec<CertificateDer<'static>>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let pem =
        std::fs::read(path).map_err(|e| format!("notify.smtp.ca_file {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "notify.smtp.ca_file {} is not a PEM file of certificates: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "notify.smtp.ca_file {} holds no certificate (expected PEM, -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// lettre's TLS parameters for STARTTLS: webpki roots plus `extra`.
fn starttls_params(host: &str, extra: &[CertificateDer<'static>]) -> Result<TlsParameters, String> {
    let mut b =
        TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::WebpkiRoots);
    for der in extra {
        let cert = Certificate::from_der(der.to_vec())
            .map_err(|e| format!("notify.smtp.ca_file: {}", error_chain(&e)))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls()
        .map_err(|e| format!("notify.smtp TLS setup failed: {}", error_chain(&e)))
}

/// A rustls client for implicit TLS: webpki roots plus `extra`, TLS 1.2 and 1.3.
fn implicit_tls(
    host: &str,
    extra: &[CertificateDer<'static>],
) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for der in extra {
        roots.add(der.clone()).map_err(|e| {
            format!("notify.smtp.ca_file: a certificate is not usable as a CA: {e}")
        })?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("notify.smtp TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| format!("notify.smtp.host {host:?} is not a host name for TLS: {e}"))?;
    Ok((
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)),
        name,
    ))
}

/// A TLS stream over TCP, as lettre takes a connection it did not open itself.
#[derive(Debug)]
struct TlsStream(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// A failed TLS setup in words an operator can act on: the certificate problem is named, with
/// the setting that fixes an unknown issuer.
fn tls_failure(e: &str) -> String {
    let hint = if e.contains("UnknownIssuer") {
        " (the certificate is not signed by a trusted CA: add the CA to notify.smtp.ca_file)"
    } else if e.contains("not valid for name") || e.contains("NotValidForName") {
        " (the certificate does not name notify.smtp.host)"
    } else {
        ""
    };
    format!("TLS with the SMTP server failed, nothing was sent: {e}{hint}")
}

/// Idle connections older than this are not reused (servers close idle sessions).
const IDLE_REUSE: std::time::Duration = std::time::Duration::from_secs(30);
/// Idle connections kept at most.
const MAX_IDLE: usize = 4;

/// SMTP connections kept open between messages, with Nagle's algorithm off: lettre writes the
/// closing `.` of a message as its own small packet, which would otherwise wait for the
/// server's delayed acknowledgement (about 40 ms a message).
struct SmtpPool {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    connect_timeout: std::time::Duration,
    command_timeout: std::time::Duration,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, std::time::Instant)>>,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security.label())
            .field("credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpPool {
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().ok()?;
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_REUSE && !conn.has_broken() {
                return Some(conn);
            }
        }
        None
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push((conn, std::time::Instant::now()));
        }
    }

    /// A new connection, greeted, secured and logged in within the connect timeout.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let setup = async {
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("cannot connect to the SMTP server: {}", error_chain(&e)))?;
            tcp.set_nodelay(true).map_err(|e| error_chain(&e))?;
            let stream: Box<dyn AsyncTokioStream> = match &self.security {
                Security::Implicit { connector, name } => Box::new(TlsStream(
                    connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| tls_failure(&root_cause(&e)))?,
                )),
                Security::None | Security::Starttls(_) => Box::new(tcp),
            };
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
                .await
                .map_err(|e| error_chain(&e))?;
            if let Security::Starttls(params) = &self.security {
                if !conn.can_starttls() {
                    conn.abort().await;
                    return Err(
                        "the SMTP server does not offer STARTTLS: with tls = \"starttls\" nothing is sent in plaintext"
                            .to_owned(),
                    );
                }
                conn.starttls(params.clone(), &self.hello)
                    .await
                    .map_err(|e| tls_failure(&root_cause(&e)))?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(|e| error_chain(&e))?;
            }
            Ok(conn)
        };
        // Whatever fails before a message is on its way is the server's trouble, not the
        // message's: it never counts as an attempt.
        match tokio::time::timeout(self.connect_timeout, setup).await {
            Ok(r) => r.map_err(SendError::Unreachable),
            Err(_) => Err(SendError::Unreachable(format!(
                "the SMTP server did not get through the greeting within {} s",
                self.connect_timeout.as_secs()
            ))),
        }
    }

    /// Sends one message on `conn` within the command timeout and keeps the connection.
    async fn send_on(
        &self,
        mut conn: AsyncSmtpConnection,
        msg: &Message,
        body: &[u8],
    ) -> Result<(), SendError> {
        match tokio::time::timeout(self.command_timeout, conn.send(msg.envelope(), body)).await {
            Ok(Ok(_)) => {
                self.put_back(conn);
                Ok(())
            }
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(SendError::Unreachable(format!(
                "the SMTP server did not answer within {} s",
                self.command_timeout.as_secs()
            ))),
        }
    }

    /// Sends on an idle connection, or a new one; a reused connection that turns out closed
    /// (no SMTP answer at all) is replaced once.
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let body = msg.formatted();
        if let Some(conn) = self.take_idle() {
            let started = std::time::Instant::now();
            match self.send_on(conn, msg, &body).await {
                Ok(()) => return Ok(()),
                Err(e @ SendError::Refused(_)) => return Err(e),
                // A server that let the time run out gets no second connection for this
                // message: one message costs at most the connect plus the command timeout.
                Err(e) if started.elapsed() >= self.command_timeout => return Err(e),
                // The server had closed the idle connection: try a new one.
                Err(SendError::Unreachable(_)) => {}
            }
        }
        let conn = self.connect().await?;
        self.send_on(conn, msg, &body).await
    }
}

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server answered and refused this message (a 4xx or 5xx reply), or the message could
    /// not be built: it is tried again later, with backoff, and counts as an attempt.
    Refused(String),
    /// The server could not be reached, or did not answer in time: nothing is wrong with the
    /// message, which stays pending without counting an attempt.
    Unreachable(String),
}

impl SendError {
    /// The error text (addresses removed).
    pub fn text(&self) -> &str {
        match self {
            Self::Refused(s) | Self::Unreachable(s) => s,
        }
    }
}

/// A lettre SMTP error as refused (the server replied 4xx/5xx) or unreachable (anything else).
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_transient() || e.is_permanent() {
        SendError::Refused(error_chain(e))
    } else {
        SendError::Unreachable(error_chain(e))
    }
}

/// Sends outbox messages; build it once and keep it (the SMTP connections are pooled).
#[derive(Debug)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Where `.eml` files go when no SMTP server is configured.
    pub file_dir: Option<std::path::PathBuf>,
    /// Set when a pass stopped at an unreachable server: the next pass sends one message first.
    suspect: std::sync::atomic::AtomicBool,
}

impl Mailer {
    /// The mailer the settings ask for: SMTP when `notify.smtp` is set, else `.eml` files.
    pub fn from_settings(settings: &Settings) -> Result<Self, NotifyError> {
        let n = &settings.notify;
        let from: Mailbox = n
            .from
            .parse()
            .map_err(|e| NotifyError::Config(format!("notify.from is not an address: {e}")))?;
        let (transport, file_dir) = match &n.smtp {
            Some(smtp) => {
                let extra = extra_roots(smtp.ca_file.as_deref()).map_err(NotifyError::Config)?;
                let credentials = smtp.username.as_ref().map(|user| {
                    let password = smtp
                        .password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default();
                    Credentials::new(user.expose().to_owned(), password)
                });
                let (security, default_port) = match smtp.tls {
                    SmtpTls::None if smtp.ca_file.is_some() => {
                        return Err(NotifyError::Config(
                            "notify.smtp.ca_file is set but notify.smtp.tls is \"none\": set tls to \"starttls\" or \"tls\", or remove ca_file".to_owned(),
                        ));
                    }
                    SmtpTls::None => (Security::None, 25),
                    SmtpTls::Starttls => (
                        Security::Starttls(
                            starttls_params(&smtp.host, &extra).map_err(NotifyError::Config)?,
                        ),
                        587,
                    ),
                    SmtpTls::Tls => {
                        let (connector, name) =
                            implicit_tls(&smtp.host, &extra).map_err(NotifyError::Config)?;
                        (Security::Implicit { connector, name }, 465)
                    }
                };
                let transport = Transport::Direct(SmtpPool {
                    host: smtp.host.clone(),
                    port: smtp.port.unwrap_or(default_port),
                    security,
                    credentials,
                    hello: ClientId::default(),
                    connect_timeout: std::time::Duration::from_secs(
                        n.connect_timeout_seconds.max(1),
                    ),
                    command_timeout: std::time::Duration::from_secs(
                        n.command_timeout_seconds.max(1),
                    ),
                    idle: std::sync::Mutex::new(Vec::new()),
                });
                (transport, None)
            }
            None => {
                let dir = settings.data_dir.join("outbox");
                std::fs::create_dir_all(&dir).map_err(|e| {
                    NotifyError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
                (Transport::File(AsyncFileTransport::new(&dir)), Some(dir))
            }
        };
        Ok(Self {
            transport,
            from,
            file_dir,
            suspect: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Builds the MIME message.
    pub fn build(&self, m: &OutgoingMessage) -> Result<Message, String> {
        let mailbox = |a: &EmailAddress| {
            a.as_str().parse::<Mailbox>().map_err(|e| {
                format!(
                    "a recipient is not an address: {}",
                    scrub_addresses(&e.to_string())
                )
            })
        };
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(crate::text::one_line(&m.subject))
            .message_id(Some(m.message_id.clone()));
        for a in &m.to {
            b = b.to(mailbox(a)?);
        }
        for a in &m.cc {
            b = b.cc(mailbox(a)?);
        }
        let calendar = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
            .map_err(|e| e.to_string())?;
        b.multipart(
            MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(
                    m.text.clone(),
                    m.html.clone(),
                ))
                .singlepart(
                    Attachment::new("paminnelse.ics".to_owned()).body(m.ics.clone(), calendar),
                ),
        )
        .map_err(|e| e.to_string())
    }

    /// Hands one message to the server (or writes its file).
    pub async fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        let msg = self.build(m).map_err(SendError::Refused)?;
        match &self.transport {
            Transport::Direct(p) => p.send(&msg).await,
            // A file that cannot be written is the disk's trouble, not the message's.
            Transport::File(t) => t
                .send(msg)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Unreachable(error_chain(&e))),
        }
    }

    /// Whether the last pass stopped at an unreachable server (the next one probes first).
    fn suspect(&self) -> bool {
        self.suspect.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set_suspect(&self, v: bool) {
        self.suspect.store(v, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One e-mail to send: typed addresses and the rendered content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The Message-ID header, fixed when the message was queued so a re-send carries the same.
    pub message_id: String,
    /// Must act.
    pub to: Vec<EmailAddress>,
    /// Informed.
    pub cc: Vec<EmailAddress>,
    /// The subject (collapsed to one line when built).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// The iCalendar attachment.
    pub ics: String,
}

impl OutgoingMessage {
    /// The message a queued outbox row holds; its stored addresses are parsed back here.
    pub fn from_row(row: &Row) -> Result<Self, String> {
        let addrs = |json: &str| -> Result<Vec<EmailAddress>, String> {
            serde_json::from_str(json).map_err(|e| {
                format!(
                    "stored recipients are unreadable: {}",
                    scrub_addresses(&e.to_string())
                )
            })
        };
        Ok(Self {
            message_id: row.message_id.clone(),
            to: addrs(&row.to_addrs)?,
            cc: addrs(&row.cc_addrs)?,
            subject: row.subject.clone(),
            text: row.body_text.clone(),
            html: row.body_html.clone(),
            ics: row.ics.clone(),
        })
    }
}

/// An error with its sources, each once (lettre's own text often repeats its source's).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = c.source();
    }
    scrub_addresses(&s)
}

/// The innermost cause of an error: for a failed TLS handshake, rustls's own words.
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut deepest = e;
    while let Some(c) = deepest.source() {
        deepest = c;
    }
    scrub_addresses(&deepest.to_string())
}

/// Replaces anything that looks like an e-mail address (a server's "550 <x@y>: unknown user")
/// so stored errors and logs hold no addresses.
pub fn scrub_addresses(s: &str) -> String {
    let is_sep = |c: char| c.is_whitespace() || "<>\"'(),;:[]".contains(c);
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("[address]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in s.chars() {
        if is_sep(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// When to try again after `attempts` attempts: 1 minute × 2^(attempts-1), at most 6 hours.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    Duration::minutes((1i64 << exp).min(MAX_BACKOFF_MINUTES))
}

/// What one send pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SendSummary {
    /// Messages claimed.
    pub claimed: usize,
    /// Handed over.
    pub sent: usize,
    /// Refused this time, to be tried again after a backoff.
    pub retrying: usize,
    /// Refused for the last time: listed for officers, who may queue them again.
    pub failed: usize,
    /// Left pending because the server could not be reached (their attempts not counted).
    pub deferred: usize,
    /// Claims another sender took over before this one marked them (the claim had expired).
    pub claims_lost: usize,
    /// Whether the pass stopped early at an unreachable server (the circuit breaker).
    pub stopped: bool,
}

/// Where a send pass reads the time: claims and retry times are stamped from it as it goes.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock standing still at one instant (for tests and for a run at a given time).
impl Clock for DateTime<Utc> {
    fn now(&self) -> DateTime<Utc> {
        *self
    }
}

/// A random claim token: 16 bytes in hex.
fn claim_token() -> Result<String, crate::error::Unexpected> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| crate::error::Unexpected::new("no random bytes for a claim token", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// How often a sender renews its claims while it sends a batch: three times per claim.
fn renew_every(claim: Duration) -> std::time::Duration {
    let ms = u64::try_from(claim.num_milliseconds() / 3).unwrap_or(0);
    std::time::Duration::from_millis(ms.max(100))
}

/// The errors of a pass by kind: how many, and the first one's text.
#[derive(Debug, Default)]
struct ErrorTally {
    refused: (usize, String),
    unreachable: (usize, String),
}

impl ErrorTally {
    fn note(&mut self, e: &SendError) {
        let slot = match e {
            SendError::Refused(_) => &mut self.refused,
            SendError::Unreachable(_) => &mut self.unreachable,
        };
        if slot.0 == 0 {
            slot.1 = e.text().to_owned();
        }
        slot.0 += 1;
    }

    /// One line per kind of error seen.
    fn log(&self, summary: &SendSummary) {
        if self.refused.0 > 0 {
            tracing::warn!(
                count = self.refused.0,
                retrying = summary.retrying,
                failed = summary.failed,
                first_error = %self.refused.1,
                "the SMTP server refused {} message(s) this pass; they are retried with backoff",
                self.refused.0
            );
        }
        if self.unreachable.0 > 0 {
            tracing::warn!(
                count = self.unreachable.0,
                deferred = summary.deferred,
                first_error = %self.unreachable.1,
                "the SMTP server could not be reached {} time(s) this pass; the messages stay pending, their attempts not counted",
                self.unreachable.0
            );
        }
    }
}

/// Sends every message that is due, batch by batch, and records each outcome.
///
/// Each batch is claimed with this pass's token at the clock's current time, and the claim is
/// renewed while the batch is being sent, so no other sender takes a message over while this one
/// works; only the token's holder marks a message sent or failed. A message the server refuses
/// is tried again after a backoff and counts as an attempt. A server that cannot be reached or
/// does not answer in time costs the message nothing: it stays pending. After
/// `breaker_failures` such failures in a row the pass stops (one log line) and gives the rest of
/// its batch back; the next pass then tries one message before it sends more.
pub async fn send_due(
    db: &DatabaseConnection,
    mailer: &Mailer,
    settings: &NotifySettings,
    clock: impl Clock,
) -> Result<SendSummary, NotifyError> {
    let mut summary = SendSummary::default();
    let claim_for = Duration::seconds(i64::from(settings.claim_seconds.max(1)));
    let max_attempts = i32::try_from(settings.max_attempts.max(1)).unwrap_or(i32::MAX);
    let breaker = settings.breaker_failures.max(1);
    let token = claim_token()?;
    let mut tally = ErrorTally::default();
    let mut probing = mailer.suspect();
    let mut in_a_row = 0u32;
    // Every claimed row leaves the due set (sent, pending at a later time, or given back when the
    // pass stops), so this ends; the bound guards against a server that fails every other time.
    for _ in 0..10_000 {
        if summary.stopped {
            break;
        }
        let limit = if probing {
            1
        } else {
            u64::from(settings.batch_size.max(1))
        };
        let rows = outbox::claim(db, clock.now(), limit, claim_for, &token).await?;
        if rows.is_empty() {
            break;
        }
        summary.claimed += rows.len();
        let work = async {
            let mut done = 0;
            for row in &rows {
                if summary.stopped {
                    break;
                }
                done += 1;
                let result = match OutgoingMessage::from_row(row) {
                    Ok(m) => mailer.send(&m).await,
                    Err(e) => Err(SendError::Refused(e)),
                };
                let now = clock.now();
                match result {
                    Ok(()) => {
                        in_a_row = 0;
                        probing = false;
                        if outbox::mark_sent(db, row.id, &token, now).await? {
                            summary.sent += 1;
                        } else {
                            summary.claims_lost += 1;
                        }
                    }
                    Err(e @ SendError::Refused(_)) => {
                        in_a_row = 0;
                        probing = false;
                        tally.note(&e);
                        let retry_at = (row.attempts < max_attempts)
                            .then(|| whole_seconds(now) + backoff(row.attempts));
                        if !outbox::mark_failed(db, row.id, &token, e.text(), retry_at).await? {
                            summary.claims_lost += 1;
                        } else if retry_at.is_some() {
                            summary.retrying += 1;
                        } else {
                            summary.failed += 1;
                        }
                    }
                    Err(e @ SendError::Unreachable(_)) => {
                        in_a_row += 1;
                        tally.note(&e);
                        let n = outbox::release(db, &[row.id], &token, Some(e.text())).await?;
                        summary.deferred += usize::try_from(n).unwrap_or(0);
                        if in_a_row >= if probing { 1 } else { breaker } {
                            summary.stopped = true;
                        }
                    }
                }
            }
            // What the pass did not get to goes back as it was.
            let rest: Vec<i64> = rows.iter().skip(done).map(|r| r.id).collect();
            let n = outbox::release(db, &rest, &token, None).await?;
            summary.deferred += usize::try_from(n).unwrap_or(0);
            Ok::<(), NotifyError>(())
        };
        tokio::pin!(work);
        let every = renew_every(claim_for);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                r = &mut work => {
                    r?;
                    break;
                }
                _ = ticks.tick() => {
                    outbox::renew(db, &token, clock.now() + claim_for).await?;
                }
            }
        }
    }
    mailer.set_suspect(summary.stopped);
    if summary.stopped {
        tracing::warn!(
            failures = in_a_row,
            deferred = summary.deferred,
            "the SMTP server is unreachable: the send pass stopped after {in_a_row} failure(s) in a row and left the rest pending; the next pass tries one message first"
        );
    }
    tally.log(&summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_minute_and_stops_at_six_hours() {
        let mins = |a| backoff(a).num_minutes();
        assert_eq!((mins(1), mins(2), mins(3), mins(8)), (1, 2, 4, 128));
        assert_eq!(mins(9), 256);
        assert_eq!(mins(10), 360);
        assert_eq!(mins(1000), 360);
    }

    #[test]
    fn errors_lose_their_addresses() {
        assert_eq!(
            scrub_addresses("550 5.1.1 <olof.lund@vasteras.example>: user unknown"),
            "550 5.1.1 <[address]>: user unknown"
        );
        assert_eq!(scrub_addresses("connection refused"), "connection refused");
    }
}
