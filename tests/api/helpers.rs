//! Test harness: a fresh database per test (SQLite in a temp dir, or a new PostgreSQL database),
//! the real router on a random port, and small HTTP helpers.

use std::sync::Arc;

use avtal::config::{Secret, Settings};
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
    pub client: reqwest::Client,
    pub registry: Registry,
    pub backend: Backend,
    _dir: tempfile::TempDir,
}

/// Where the PostgreSQL server for tests is (the machine's local one by default).
fn postgres_admin_url() -> String {
    std::env::var("AVTAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
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
        let name = format!("avtal_test_{}", random_suffix());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("cannot create {name}: {e}"));
        settings.database_url = Some(Secret::new(format!("{}/{name}", postgres_admin_url())));
    }
    settings
}

fn random_suffix() -> String {
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
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        registry,
        backend,
        _dir: dir,
    }
}

/// A response's status and JSON body.
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestApp {
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

    /// Imports the 13 sample agreements through the same import the CLI uses.
    pub async fn load_examples(&self) {
        let files =
            avtal::demo::example_files().unwrap_or_else(|e| panic!("examples do not parse: {e:?}"));
        let mut quiet = |_: usize, _: usize| {};
        if let Err(e) = avtal::transfer::import(&self.registry, files, &mut quiet).await {
            match e {
                avtal::transfer::ImportError::Invalid(p) => {
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
