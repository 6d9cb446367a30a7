//! Reminder e-mail over TLS, against an SMTP server on loopback speaking STARTTLS or implicit TLS
//! with a CA and certificates made at test time: delivery with the CA trusted through
//! `notify.smtp.ca_file`, several messages over one warm connection, and refusal, with the
//! certificate problem named and the messages kept pending, of an untrusted certificate, a
//! certificate for another name and a server that does not offer STARTTLS. The server notes every
//! command it gets before TLS: nothing about a message may ever be among them.

use std::sync::{Arc, Mutex};

use avtal::config::{Settings, SmtpSettings, SmtpTls};
use avtal::db::outbox::{self, NewMessage};
use avtal::domain::party::EmailAddress;
use avtal::notify::mailer::{Mailer, SendSummary, SystemClock, send_due};
use chrono::Utc;
use mailparse::MailHeaderMap;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::rustls;

use crate::helpers::TestApp;

/// A certificate authority made for one test.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|e| panic!("CA params: {e}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap_or_else(|e| panic!("CA key: {e}"));
        let cert = params
            .self_signed(&key)
            .unwrap_or_else(|e| panic!("CA cert: {e}"));
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `name` signed by this CA, as a rustls server setup.
    fn server(&self, name: &str) -> Arc<rustls::ServerConfig> {
        let mut params = CertificateParams::new(vec![name.to_owned()])
            .unwrap_or_else(|e| panic!("server params: {e}"));
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap_or_else(|e| panic!("server key: {e}"));
        let cert = params
            .signed_by(&key, &self.issuer)
            .unwrap_or_else(|e| panic!("server cert: {e}"));
        let der_key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("{e}"))
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der_key)
            .unwrap_or_else(|e| panic!("server config: {e}"));
        Arc::new(config)
    }

    /// Writes the CA's certificate into `dir` as a PEM file and returns its path.
    fn write(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("smtp-ca.pem");
        std::fs::write(&path, &self.pem).unwrap_or_else(|e| panic!("{e}"));
        path
    }
}

/// How the test server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Speaks {
    /// Plaintext greeting; STARTTLS offered in EHLO (or not, when `offer` is false).
    Starttls { offer: bool },
    /// TLS from the first byte.
    Implicit,
}

/// What the server saw.
#[derive(Debug, Default)]
struct Seen {
    connections: usize,
    handshakes: usize,
    /// Commands received before TLS was up (verb only).
    plaintext: Vec<String>,
    /// Raw messages received (over TLS only: a message before TLS is refused and noted).
    messages: Vec<Vec<u8>>,
    /// For each message, the time from the server's `354` to the client's closing `.`.
    data_times: Vec<std::time::Duration>,
}

/// An SMTP server with STARTTLS or implicit TLS on loopback.
struct TlsSink {
    port: u16,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsSink {
    async fn start(speaks: Speaks, tls: Arc<rustls::ServerConfig>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("tls sink bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let store = Arc::clone(&seen);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((tcp, _)) = listener.accept().await {
                if let Ok(mut s) = store.lock() {
                    s.connections += 1;
                }
                sessions.spawn(tls_session(
                    tcp,
                    speaks,
                    acceptor.clone(),
                    Arc::clone(&store),
                ));
            }
        });
        Self { port, seen, task }
    }

    fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        let s = self.seen.lock().unwrap_or_else(|e| panic!("{e}"));
        f(&s)
    }
}

impl Drop for TlsSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_session(
    tcp: tokio::net::TcpStream,
    speaks: Speaks,
    acceptor: tokio_rustls::TlsAcceptor,
    seen: Arc<Mutex<Seen>>,
) {
    let tcp = match speaks {
        Speaks::Implicit => tcp,
        Speaks::Starttls { offer } => {
            let mut plain = BufReader::new(tcp);
            if plain
                .write_all(b"220 tls.localhost ESMTP\r\n")
                .await
                .is_err()
            {
                return;
            }
            match commands(&mut plain, false, offer, &seen).await {
                Next::StartTls => plain.into_inner(),
                Next::Close => return,
            }
        }
    };
    let Ok(tls) = acceptor.accept(tcp).await else {
        return;
    };
    if let Ok(mut s) = seen.lock() {
        s.handshakes += 1;
    }
    let mut secure = BufReader::new(tls);
    if speaks == Speaks::Implicit
        && secure
            .write_all(b"220 tls.localhost ESMTP\r\n")
            .await
            .is_err()
    {
        return;
    }
    commands(&mut secure, true, false, &seen).await;
}

enum Next {
    StartTls,
    Close,
}

/// Answers SMTP commands until QUIT, a closed connection or (before TLS) STARTTLS.
async fn commands<S>(
    stream: &mut BufReader<S>,
    secure: bool,
    offer_starttls: bool,
    seen: &Mutex<Seen>,
) -> Next
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut line = String::new();
    loop {
        line.clear();
        match stream.read_line(&mut line).await {
            Ok(0) | Err(_) => return Next::Close,
            Ok(_) => {}
        }
        let upper = line.trim_end().to_ascii_uppercase();
        if !secure && let Ok(mut s) = seen.lock() {
            let verb = upper.split([' ', ':']).next().unwrap_or_default();
            s.plaintext.push(verb.to_owned());
        }
        let reply: &[u8] = if upper.starts_with("EHLO") {
            if offer_starttls {
                b"250-tls.localhost\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
            } else {
                b"250-tls.localhost\r\n250 8BITMIME\r\n"
            }
        } else if upper == "STARTTLS" && !secure && offer_starttls {
            if stream.write_all(b"220 go ahead\r\n").await.is_err() {
                return Next::Close;
            }
            return Next::StartTls;
        } else if !secure && !upper.starts_with("QUIT") && !upper.starts_with("NOOP") {
            // A real server that insists on TLS says the same.
            b"530 5.7.0 Must issue a STARTTLS command first\r\n"
        } else if upper == "DATA" {
            if stream.write_all(b"354 go ahead\r\n").await.is_err() {
                return Next::Close;
            }
            let asked = std::time::Instant::now();
            let Some(data) = crate::helpers::read_smtp_data(stream).await else {
                return Next::Close;
            };
            if let Ok(mut s) = seen.lock() {
                s.messages.push(data);
                s.data_times.push(asked.elapsed());
            }
            b"250 OK queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = stream.write_all(b"221 bye\r\n").await;
            return Next::Close;
        } else {
            b"250 OK\r\n"
        };
        if stream.write_all(reply).await.is_err() {
            return Next::Close;
        }
    }
}

fn settings_for(
    app: &TestApp,
    host: &str,
    port: u16,
    tls: SmtpTls,
    ca_file: Option<std::path::PathBuf>,
) -> Settings {
    let mut s = (*app.registry.settings).clone();
    s.notify.smtp = Some(SmtpSettings {
        host: host.to_owned(),
        port: Some(port),
        tls,
        username: None,
        password: None,
        ca_file,
    });
    s
}

fn mailer(s: &Settings) -> Mailer {
    Mailer::from_settings(s).unwrap_or_else(|e| panic!("mailer: {e}"))
}

/// Queues `n` messages straight into the outbox.
async fn queue(app: &TestApp, n: usize) {
    let to = EmailAddress::parse("sara.nystrom@haninge.example").unwrap_or_else(|e| panic!("{e}"));
    let messages: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            dedupe_key: format!("tls/{i}"),
            reference: "AGR-2025-0004".into(),
            kind: "option_decision".into(),
            to: vec![to.clone()],
            cc: Vec::new(),
            subject: format!("Påminnelse över TLS {i}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
            ics: String::new(),
            message_id: format!("<tls-{i}@avtal.test>"),
        })
        .collect();
    outbox::insert_many(&app.registry.db, messages, Utc::now())
        .await
        .unwrap_or_else(|e| panic!("queue: {e}"));
}

async fn clear_outbox(app: &TestApp) {
    use sea_orm::EntityTrait;
    avtal::db::entities::outbox::Entity::delete_many()
        .exec(&app.registry.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn pass(app: &TestApp, m: &Mailer, s: &Settings) -> SendSummary {
    send_due(&app.registry.db, m, &s.notify, SystemClock)
        .await
        .unwrap_or_else(|e| panic!("send pass on {:?}: {e}", app.backend))
}

/// Sends 5 messages to a server of `speaks` whose certificate is signed by a CA trusted through
/// `ca_file`: all arrive intact over one connection and one TLS handshake.
async fn delivers_over_one_warm_tls_connection(app: &TestApp, speaks: Speaks, tls: SmtpTls) {
    let ca = TestCa::new("avtal test CA");
    let sink = TlsSink::start(speaks, ca.server("localhost")).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = settings_for(app, "localhost", sink.port, tls, Some(ca.write(dir.path())));
    let m = mailer(&s);
    queue(app, 5).await;

    let sent = pass(app, &m, &s).await;

    assert_eq!((sent.sent, sent.deferred), (5, 0), "{speaks:?}: {sent:?}");
    sink.with(|seen| {
        assert_eq!(
            (seen.connections, seen.handshakes),
            (1, 1),
            "{speaks:?}: five messages over one warm TLS connection"
        );
        let before_tls: Vec<&str> = seen.plaintext.iter().map(String::as_str).collect();
        let expected: &[&str] = match speaks {
            Speaks::Starttls { .. } => &["EHLO", "STARTTLS"],
            Speaks::Implicit => &[],
        };
        assert_eq!(before_tls, expected, "{speaks:?}: commands before TLS");
        assert_eq!(seen.messages.len(), 5);
        for (i, raw) in seen.messages.iter().enumerate() {
            let p = mailparse::parse_mail(raw).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                p.headers.get_first_value("Message-ID").as_deref(),
                Some(format!("<tls-{i}@avtal.test>").as_str())
            );
            assert_eq!(
                p.headers.get_first_value("Subject").as_deref(),
                Some(format!("Påminnelse över TLS {i}").as_str())
            );
            assert_eq!(
                p.headers.get_first_value("To").as_deref(),
                Some("sara.nystrom@haninge.example")
            );
        }
    });
    let rows = outbox::list(&app.registry.db, None, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(rows.iter().all(|r| r.state == "sent"), "{speaks:?}");
}

async fn starttls_delivers_with_the_ca_trusted_over_one_connection(app: TestApp) {
    delivers_over_one_warm_tls_connection(
        &app,
        Speaks::Starttls { offer: true },
        SmtpTls::Starttls,
    )
    .await;
}

async fn implicit_tls_delivers_with_the_ca_trusted_over_one_warm_connection(app: TestApp) {
    delivers_over_one_warm_tls_connection(&app, Speaks::Implicit, SmtpTls::Tls).await;
}

async fn implicit_tls_sends_without_the_nagle_delay(app: TestApp) {
    let ca = TestCa::new("avtal test CA");
    let sink = TlsSink::start(Speaks::Implicit, ca.server("localhost")).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = settings_for(
        &app,
        "localhost",
        sink.port,
        SmtpTls::Tls,
        Some(ca.write(dir.path())),
    );
    let m = mailer(&s);
    queue(&app, 100).await;

    let r = pass(&app, &m, &s).await;

    assert_eq!(r.sent, 100, "{r:?}");
    // With Nagle's algorithm on, each message's closing `.` waits for the server's delayed ACK,
    // about 40 ms (lettre's pooled transport, used for implicit TLS before, took 9.1 s for 200
    // messages). Measured at the server from its `354` to the `.`, so a busy database or CPU
    // does not count; the median, so a few slow ones do not either.
    sink.with(|seen| {
        assert_eq!((seen.connections, seen.handshakes), (1, 1));
        let mut times = seen.data_times.clone();
        times.sort_unstable();
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        assert!(
            median < std::time::Duration::from_millis(20),
            "a message's data took {median:?} (median of {})",
            times.len()
        );
    });
}

/// A pass against `sink` with `s` sends nothing, keeps every message pending with its attempts
/// uncounted and an error containing each of `words`, and the server sees nothing of a message.
async fn is_refused_with(app: &TestApp, sink: &TlsSink, s: &Settings, words: &[&str]) {
    queue(app, 3).await;
    let m = mailer(s);

    let r = pass(app, &m, s).await;

    assert_eq!((r.sent, r.retrying, r.failed), (0, 0, 0), "{r:?}");
    assert!(r.stopped, "the breaker stops the pass: {r:?}");
    let rows = outbox::list(&app.registry.db, None, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 3, "no message is lost");
    for row in &rows {
        assert_eq!((row.state.as_str(), row.attempts), ("pending", 0));
        let error = row.last_error.clone().unwrap_or_default();
        for w in words {
            assert!(error.contains(w), "{w:?} missing in {error:?}");
        }
    }
    sink.with(|seen| {
        assert!(seen.messages.is_empty(), "a message went out");
        for verb in &seen.plaintext {
            assert!(
                ["EHLO", "STARTTLS", "QUIT"].contains(&verb.as_str()),
                "{verb} was sent in plaintext: {:?}",
                seen.plaintext
            );
        }
    });
}

async fn a_certificate_from_an_untrusted_ca_is_refused_and_the_messages_stay_pending(app: TestApp) {
    let trusted = TestCa::new("avtal trusted CA");
    let other = TestCa::new("someone else's CA");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca_file = trusted.write(dir.path());
    for (speaks, tls) in [
        (Speaks::Starttls { offer: true }, SmtpTls::Starttls),
        (Speaks::Implicit, SmtpTls::Tls),
    ] {
        let sink = TlsSink::start(speaks, other.server("localhost")).await;
        let s = settings_for(&app, "localhost", sink.port, tls, Some(ca_file.clone()));
        is_refused_with(
            &app,
            &sink,
            &s,
            &["certificate", "UnknownIssuer", "ca_file"],
        )
        .await;
        // Without ca_file only the webpki roots are trusted: refused the same way.
        let s = settings_for(&app, "localhost", sink.port, tls, None);
        is_refused_with(&app, &sink, &s, &["certificate", "UnknownIssuer"]).await;
        sink.with(|seen| assert_eq!(seen.handshakes, 0, "{speaks:?}"));
        clear_outbox(&app).await;
    }
}

async fn a_certificate_for_another_name_is_refused(app: TestApp) {
    let ca = TestCa::new("avtal test CA");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca_file = ca.write(dir.path());
    for (speaks, tls) in [
        (Speaks::Starttls { offer: true }, SmtpTls::Starttls),
        (Speaks::Implicit, SmtpTls::Tls),
    ] {
        // Trusted CA, but the certificate names smtp.kommun.example, not the host connected to.
        let sink = TlsSink::start(speaks, ca.server("smtp.kommun.example")).await;
        let s = settings_for(&app, "localhost", sink.port, tls, Some(ca_file.clone()));
        is_refused_with(&app, &sink, &s, &["certificate", "not valid for name"]).await;
        clear_outbox(&app).await;
    }
}

async fn a_server_without_starttls_is_refused_not_used_in_plaintext(app: TestApp) {
    let ca = TestCa::new("avtal test CA");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sink = TlsSink::start(Speaks::Starttls { offer: false }, ca.server("localhost")).await;
    let s = settings_for(
        &app,
        "localhost",
        sink.port,
        SmtpTls::Starttls,
        Some(ca.write(dir.path())),
    );
    is_refused_with(&app, &sink, &s, &["does not offer STARTTLS", "plaintext"]).await;
    sink.with(|seen| {
        assert_eq!(seen.handshakes, 0);
        assert!(
            seen.plaintext.iter().all(|v| v == "EHLO" || v == "QUIT"),
            "{:?}",
            seen.plaintext
        );
    });
}

crate::on_both_backends!(
    starttls_delivers_with_the_ca_trusted_over_one_connection,
    implicit_tls_delivers_with_the_ca_trusted_over_one_warm_connection,
    implicit_tls_sends_without_the_nagle_delay,
    a_certificate_from_an_untrusted_ca_is_refused_and_the_messages_stay_pending,
    a_certificate_for_another_name_is_refused,
    a_server_without_starttls_is_refused_not_used_in_plaintext,
);

#[test]
fn a_ca_file_that_is_missing_or_holds_no_certificate_is_a_clear_setup_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = |tls: SmtpTls, ca_file: std::path::PathBuf| {
        let mut s = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        s.notify.smtp = Some(SmtpSettings {
            host: "smtp.kommun.example".into(),
            port: None,
            tls,
            username: None,
            password: None,
            ca_file: Some(ca_file),
        });
        s
    };
    let error = |s: &Settings| {
        Mailer::from_settings(s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("accepted"))
    };
    let missing = dir.path().join("missing.pem");
    let e = error(&base(SmtpTls::Starttls, missing));
    assert!(
        e.contains("notify.smtp.ca_file") && e.contains("missing.pem"),
        "{e}"
    );

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap_or_else(|e| panic!("{e}"));
    let e = error(&base(SmtpTls::Tls, empty.clone()));
    assert!(e.contains("holds no certificate"), "{e}");

    let ca = TestCa::new("avtal test CA");
    let good = ca.write(dir.path());
    let e = error(&base(SmtpTls::None, good.clone()));
    assert!(e.contains("tls is \"none\""), "{e}");
    for tls in [SmtpTls::Starttls, SmtpTls::Tls] {
        assert!(Mailer::from_settings(&base(tls, good.clone())).is_ok());
    }
}
