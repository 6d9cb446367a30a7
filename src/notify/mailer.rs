//! Delivery: builds each outbox row into a MIME message (text + HTML alternatives and the `.ics`
//! file) and hands it to lettre, over SMTP connections kept open between messages or, with no SMTP
//! server configured, as `.eml` files under `<data_dir>/outbox/`. Recipients and secrets never
//! reach a log line.

use chrono::{DateTime, Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::NotifyError;
use crate::config::{NotifySettings, Settings, SmtpTls};
use crate::db::entities::outbox::Model as Row;
use crate::db::outbox::{self, whole_seconds};
use crate::domain::party::EmailAddress;

/// Longest wait between two attempts.
const MAX_BACKOFF_MINUTES: i64 = 6 * 60;

#[derive(Debug)]
enum Transport {
    /// Plain SMTP or STARTTLS over our own kept-open connections with `TCP_NODELAY`.
    Direct(SmtpPool),
    /// Implicit TLS (SMTPS) through lettre's pooled transport.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
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
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: std::time::Duration,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, std::time::Instant)>>,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("starttls", &self.starttls.is_some())
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

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to the SMTP server: {}", error_chain(&e)))?;
        tcp.set_nodelay(true).map_err(|e| error_chain(&e))?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
            .await
            .map_err(|e| error_chain(&e))?;
        if let Some(params) = &self.starttls {
            conn.starttls(params.clone(), &self.hello)
                .await
                .map_err(|e| error_chain(&e))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| error_chain(&e))?;
        }
        Ok(conn)
    }

    async fn send_on(
        &self,
        mut conn: AsyncSmtpConnection,
        msg: &Message,
        body: &[u8],
    ) -> Result<(), lettre::transport::smtp::Error> {
        conn.send(msg.envelope(), body).await?;
        self.put_back(conn);
        Ok(())
    }

    /// Sends on an idle connection, or a new one; a reused connection that turns out closed
    /// (no SMTP answer at all) is replaced once.
    async fn send(&self, msg: &Message) -> Result<(), String> {
        let body = msg.formatted();
        let attempt = async {
            if let Some(conn) = self.take_idle() {
                match self.send_on(conn, msg, &body).await {
                    Ok(()) => return Ok(()),
                    Err(e) if e.is_transient() || e.is_permanent() => {
                        return Err(error_chain(&e));
                    }
                    Err(_) => {}
                }
            }
            let conn = self.connect().await?;
            self.send_on(conn, msg, &body)
                .await
                .map_err(|e| error_chain(&e))
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or_else(|_| Err("the SMTP server did not answer in time".to_owned()))
    }
}

/// Sends outbox messages; build it once and keep it (the SMTP connections are pooled).
#[derive(Debug)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Where `.eml` files go when no SMTP server is configured.
    pub file_dir: Option<std::path::PathBuf>,
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
                let tls_params = || {
                    TlsParameters::new(smtp.host.clone()).map_err(|e| {
                        NotifyError::Config(format!("notify.smtp TLS setup failed: {e}"))
                    })
                };
                let credentials = smtp.username.as_ref().map(|user| {
                    let password = smtp
                        .password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default();
                    Credentials::new(user.expose().to_owned(), password)
                });
                let timeout = std::time::Duration::from_secs(30);
                let transport = match smtp.tls {
                    SmtpTls::None | SmtpTls::Starttls => {
                        let (starttls, default_port) = if smtp.tls == SmtpTls::Starttls {
                            (Some(tls_params()?), 587)
                        } else {
                            (None, 25)
                        };
                        Transport::Direct(SmtpPool {
                            host: smtp.host.clone(),
                            port: smtp.port.unwrap_or(default_port),
                            starttls,
                            credentials,
                            hello: ClientId::default(),
                            timeout,
                            idle: std::sync::Mutex::new(Vec::new()),
                        })
                    }
                    SmtpTls::Tls => {
                        let mut b =
                            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                                .port(smtp.port.unwrap_or(465))
                                .tls(Tls::Wrapper(tls_params()?))
                                .timeout(Some(timeout));
                        if let Some(c) = credentials {
                            b = b.credentials(c);
                        }
                        Transport::Smtp(b.build())
                    }
                };
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
    pub async fn send(&self, m: &OutgoingMessage) -> Result<(), String> {
        let msg = self.build(m)?;
        match &self.transport {
            Transport::Direct(p) => p.send(&msg).await,
            Transport::Smtp(t) => t.send(msg).await.map(|_| ()).map_err(|e| error_chain(&e)),
            Transport::File(t) => t.send(msg).await.map(|_| ()).map_err(|e| error_chain(&e)),
        }
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

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    scrub_addresses(&s)
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
    /// Failed this time, to be tried again.
    pub retrying: usize,
    /// Failed for the last time.
    pub failed: usize,
}

/// Sends every message due at `now`, batch by batch, and records each outcome. A failure is
/// logged (without addresses) and the pass goes on.
pub async fn send_due(
    db: &DatabaseConnection,
    mailer: &Mailer,
    settings: &NotifySettings,
    now: DateTime<Utc>,
) -> Result<SendSummary, NotifyError> {
    let mut summary = SendSummary::default();
    let claim_for = Duration::seconds(i64::from(settings.claim_seconds.max(1)));
    let max_attempts = i32::try_from(settings.max_attempts.max(1)).unwrap_or(i32::MAX);
    // Every claimed row leaves the due set (sent, or pending at a later time), so this ends;
    // the bound guards against a clock that stands still.
    for _ in 0..10_000 {
        let rows = outbox::claim(db, now, u64::from(settings.batch_size.max(1)), claim_for).await?;
        if rows.is_empty() {
            break;
        }
        summary.claimed += rows.len();
        for row in rows {
            let sent = match OutgoingMessage::from_row(&row) {
                Ok(m) => mailer.send(&m).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => {
                    outbox::mark_sent(db, row.id, now).await?;
                    summary.sent += 1;
                }
                Err(error) => {
                    let retry_at = (row.attempts < max_attempts)
                        .then(|| whole_seconds(now) + backoff(row.attempts));
                    tracing::warn!(
                        outbox_id = row.id,
                        reference = %row.reference,
                        kind = %row.kind,
                        attempts = row.attempts,
                        retry_at = ?retry_at,
                        %error,
                        "sending a reminder failed"
                    );
                    outbox::mark_failed(db, row.id, &error, retry_at).await?;
                    if retry_at.is_some() {
                        summary.retrying += 1;
                    } else {
                        summary.failed += 1;
                    }
                }
            }
        }
    }
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
