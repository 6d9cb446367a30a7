//! Test harness: a fresh database per test (SQLite in a temp dir, or a new PostgreSQL database),
//! the real router on a random port, and small HTTP helpers.

use std::sync::Arc;

use avtal::config::{Secret, Settings};
use avtal::domain::access::Role;
use avtal::domain::org_number::OrgNumber;
use avtal::registry::Registry;
use avtal::web::{self, AppState};
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// "Today" in the sample data.
pub fn sample_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
}

/// A running app with its own database.
pub struct TestApp {
    pub address: String,
    /// Sends the admin's API token with every request.
    pub client: reqwest::Client,
    pub registry: Registry,
    pub backend: Backend,
    /// The admin user created at spawn, whose token `client` sends.
    pub admin_id: i64,
    _dir: tempfile::TempDir,
}

/// Where the PostgreSQL server for tests is (the machine's local one by default).
fn postgres_admin_url() -> String {
    std::env::var("AVTAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// The references of a list answer's `items`, in order.
pub fn references(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|i| i["reference"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Settings for a test app on `backend`, with a fresh empty database.
pub async fn test_settings(backend: Backend, dir: &std::path::Path) -> Settings {
    let mut settings = Settings {
        data_dir: dir.to_path_buf(),
        today: Some(sample_today()),
        max_body_bytes: 256 * 1024,
        // The pinned typst CLI of scripts/test.sh, when set; document tests check for it.
        typst: std::env::var_os("AVTAL_TYPST").map(std::path::PathBuf::from),
        ..Settings::default()
    };
    if backend == Backend::Postgres {
        let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {} is needed for the tests on PostgreSQL: {e}",
                    postgres_admin_url()
                )
            });
        drop_databases_of_exited_runs(&admin).await;
        let name = format!("avtal_test_{}", random_suffix());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create {name}: {e}"));
        settings.database_url = Some(Secret::new(format!("{}/{name}", postgres_admin_url())));
    }
    settings
}

/// Drops, once per test process, the test databases (`avtal_test_<pid>_…`) of test processes that
/// have exited, so runs do not pile up databases on disk while runs still going keep theirs.
async fn drop_databases_of_exited_runs(admin: &sea_orm::DatabaseConnection) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        use sea_orm::{DbBackend, Statement};
        let Ok(rows) = admin
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT datname FROM pg_database WHERE datname LIKE 'avtal_test_%'",
            ))
            .await
        else {
            return;
        };
        for row in rows {
            let Ok(name) = row.try_get::<String>("", "datname") else {
                continue;
            };
            let pid = name
                .strip_prefix("avtal_test_")
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            let alive =
                pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                // Another process may drop it at the same moment; either way it is gone.
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        }
    })
    .await;
}

pub fn random_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}_{}_{n}", std::process::id(), nanos % 1_000_000_000)
}

/// Starts the app on a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let settings = test_settings(backend, dir.path()).await;
    spawn_with(backend, settings, dir).await
}

/// Starts the app with given settings.
pub async fn spawn_with(backend: Backend, settings: Settings, dir: tempfile::TempDir) -> TestApp {
    let conn = avtal::db::connect(&settings)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    avtal::db::migrate(&conn)
        .await
        .unwrap_or_else(|e| panic!("migrate: {e}"));
    let registry = Registry::new(conn, Arc::new(settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let address = format!(
        "http://{}",
        listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
    );
    let app = web::router(AppState {
        registry: registry.clone(),
    });
    let header_timeout = std::time::Duration::from_secs(registry.settings.header_timeout_secs);
    tokio::spawn(web::server::serve(
        listener,
        app,
        header_timeout,
        std::future::pending(),
    ));
    // An admin with an API token, made straight in storage (no audit entry, no slow hash), so
    // the tests of every other feature call the API as before.
    let (admin_id, token) =
        user_with_token(&registry, "admin@test.example", Role::Admin, None).await;
    TestApp {
        address,
        client: bearer_client(&token),
        registry,
        backend,
        admin_id,
        _dir: dir,
    }
}

/// A user of `role` stored directly (password login impossible) with a fresh API token.
pub async fn user_with_token(
    registry: &Registry,
    email: &str,
    role: Role,
    org: Option<&str>,
) -> (i64, String) {
    let org = org.map(|o| OrgNumber::parse(o).unwrap_or_else(|e| panic!("{e}")));
    let user = avtal::db::users::insert_user(&registry.db, email, "!", role, org.as_ref())
        .await
        .unwrap_or_else(|e| panic!("insert user: {e}"));
    let token = format!(
        "avt_{}",
        avtal::registry::accounts::new_secret().unwrap_or_else(|e| panic!("{e}"))
    );
    avtal::db::users::insert_token(
        &registry.db,
        user.id,
        "tests",
        &avtal::registry::accounts::secret_hash(&token),
    )
    .await
    .unwrap_or_else(|e| panic!("insert token: {e}"));
    (user.id, token)
}

/// A client that sends `token` as `Authorization: Bearer` and does not follow redirects.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|e| panic!("{e}"));
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// The organisations of the test users of each role: the officer works for Haninge (buyer of
/// AGR-2025-0004 and AGR-2026-0009), the enterprise user for Ljusglimt (supplier of AGR-2025-0004).
pub const OFFICER_ORG: &str = "212900-0028";
pub const ENTERPRISE_ORG: &str = "769990-0051";

/// A response's status and JSON body.
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestApp {
    /// The audit actor of the admin's changes.
    pub fn admin_actor(&self) -> String {
        format!("user:{}", self.admin_id)
    }

    /// A client with a fresh API token of a new user of `role` (officer and enterprise users
    /// belong to `OFFICER_ORG` and `ENTERPRISE_ORG`); does not follow redirects.
    pub async fn client_for(&self, role: Role) -> reqwest::Client {
        let org = match role {
            Role::Officer => Some(OFFICER_ORG),
            Role::Enterprise => Some(ENTERPRISE_ORG),
            Role::Admin | Role::Auditor => None,
        };
        let email = format!("{}-{}@test.example", role.code(), random_suffix());
        let (_, token) = user_with_token(&self.registry, &email, role, org).await;
        bearer_client(&token)
    }

    /// Creates a user with a password through the same use case as `avtal user add`.
    pub async fn create_user(&self, email: &str, role: Role, org: Option<&str>, password: &str) {
        avtal::registry::accounts::create_user(
            &self.registry,
            avtal::registry::accounts::NewUser {
                email: email.to_owned(),
                role,
                org: org.map(str::to_owned),
                password: password.to_owned(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create user: {e}"));
    }

    /// A login form's token and the cookie that goes with it, as a browser gets them from
    /// `GET /login`: (`Cookie` header value, form token).
    pub async fn login_token(&self) -> (String, String) {
        let r = reqwest::get(format!("{}/login", self.address))
            .await
            .unwrap_or_else(|e| panic!("login page: {e}"));
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("avtal_login="))
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_owned();
        let page = r.text().await.unwrap_or_default();
        let token = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        (cookie, token)
    }

    /// Posts the login form with `fields` from `client`, with a fresh login token and its cookie.
    pub async fn login_post(
        &self,
        client: &reqwest::Client,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (cookie, token) = self.login_token().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &token));
        client
            .post(format!("{}/login", self.address))
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}"))
    }

    /// Signs in through the login form; returns a cookie-keeping client (no redirects) and
    /// the session's CSRF token, read from the start page.
    pub async fn browser_login(&self, email: &str, password: &str) -> (reqwest::Client, String) {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        let r = self
            .login_post(&client, &[("email", email), ("password", password)])
            .await;
        assert_eq!(r.status().as_u16(), 303, "login of {email} failed");
        let page = client
            .get(format!("{}/tokens", self.address))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(csrf.len(), 64, "no CSRF token on the page");
        (client, csrf)
    }

    async fn reply(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.reply(self.client.get(format!("{}{path}", self.address)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.reply(
            self.client
                .post(format!("{}{path}", self.address))
                .json(body),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.reply(
            self.client
                .post(format!("{}{path}", self.address))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.reply(
            self.client
                .put(format!("{}{path}", self.address))
                .json(body),
        )
        .await
    }

    /// Imports the 15 sample agreements through the same import the CLI uses.
    pub async fn load_examples(&self) {
        let files =
            avtal::demo::example_files().unwrap_or_else(|e| panic!("examples do not parse: {e:?}"));
        let mut quiet = |_: usize, _: usize| {};
        if let Err(e) = avtal::registry::transfer::import(&self.registry, files, &mut quiet).await {
            match e {
                avtal::registry::transfer::ImportError::Invalid(p) => {
                    panic!(
                        "examples are refused:\n{}",
                        p.iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                }
                other => panic!("import failed: {other}"),
            }
        }
    }

    /// The stored agreement document (the `agreement` field of the API response).
    pub async fn agreement(&self, reference: &str) -> Reply {
        self.get(&format!("/api/v1/agreements/{reference}")).await
    }
}

/// Generates one `#[tokio::test]` per backend for each `async fn name(app: TestApp)` listed.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await).await
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await).await
                }
            )*
        }
    };
}

/// One message an SMTP sink received: the envelope and the raw data.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

/// A real SMTP server on loopback that accepts everything and keeps what it got. Speaks the
/// subset lettre uses without TLS: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
pub struct SmtpSink {
    pub port: u16,
    received: Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts a sink on `port` (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("smtp sink bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("smtp sink addr: {e}"))
            .port();
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(smtp_session(stream, Arc::clone(&store)));
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    /// A port nothing listens on (bound, then released).
    pub async fn free_port() -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        l.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Everything received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, store: Arc<std::sync::Mutex<Vec<Received>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r);
    let mut current = Received {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: Vec::new(),
    };
    if w.write_all(b"220 sink.localhost ESMTP test sink\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            current = Received {
                mail_from: cmd[10..].trim().trim_matches(['<', '>']).to_owned(),
                rcpt_to: Vec::new(),
                data: Vec::new(),
            };
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let addr = cmd[8..].trim().trim_matches(['<', '>']).to_owned();
            current.rcpt_to.push(addr);
            b"250 OK\r\n"
        } else if upper.starts_with("RSET") {
            current.rcpt_to.clear();
            current.mail_from.clear();
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if w.write_all(b"354 end with .\r\n").await.is_err() {
                return;
            }
            let Some(data) = read_smtp_data(&mut lines).await else {
                return;
            };
            current.data = data;
            if let Ok(mut v) = store.lock() {
                v.push(current.clone());
            }
            b"250 OK queued\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Reads an SMTP DATA section up to the lone `.` line, undoing dot-stuffing; `None` when the
/// client goes away first.
pub async fn read_smtp_data<R>(lines: &mut R) -> Option<Vec<u8>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    let mut data = Vec::new();
    loop {
        let mut l = Vec::new();
        match lines.read_until(b'\n', &mut l).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if l == b".\r\n" {
            return Some(data);
        }
        data.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
    }
}
