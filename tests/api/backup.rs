//! Backup, restore and check through the `avtal` binary, on SQLite and on PostgreSQL (where
//! `avtal backup` runs `pg_dump` and `avtal restore` runs `pg_restore`): a backup taken while
//! writes run restores into an empty data directory (and database) with the same rows, passes the
//! check, and a damaged file fails it.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::json;

use crate::helpers::{Backend, TestApp, test_settings};

/// Runs the `avtal` binary on `data_dir` and, when given, the PostgreSQL database at `url`.
fn avtal(data_dir: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_avtal"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run avtal: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The database of an instance: its PostgreSQL URL, or its SQLite file in `data_dir`.
fn database_url(data_dir: &Path, url: Option<&str>) -> String {
    url.map(str::to_owned)
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("avtal.db").display()))
}

async fn counts(data_dir: &Path, url: Option<&str>) -> avtal::registry::backup::Counts {
    let conn = sea_orm::Database::connect(database_url(data_dir, url))
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", data_dir.display()));
    avtal::registry::backup::counts(&conn)
        .await
        .unwrap_or_else(|e| panic!("count: {e}"))
}

/// A report file handed in through the API, so the check has a stored file to read.
async fn hand_in_a_report_file(app: &TestApp) {
    let boundary = "XbackupX";
    // The report carries the employment requirement's figures: they come as CSV beside the file.
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"figures_csv\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q3.pdf\"\r\nContent-Type: application/pdf\r\n\r\n",
        crate::links::Q3_CSV
    )
    .into_bytes();
    body.extend_from_slice(b"%PDF-1.4\n%%EOF\n");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = app
        .post_raw(
            "/api/v1/agreements/AGR-2025-0005/reports/social_clause_report/2026-09-30/file",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// A generated document (stored directly, no typst) and its signed copy through the use case.
async fn record_a_signed_copy(app: &TestApp) {
    let key = avtal::domain::agreement::Reference::parse("AGR-2025-0004")
        .unwrap_or_else(|e| panic!("{e}"));
    let stored = avtal::db::store::get_agreement(&app.registry.db, &key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let doc = avtal::db::documents::insert_document(
        &app.registry.db,
        &avtal::db::documents::NewDocument {
            agreement_id: stored.id,
            agreement_reference: "AGR-2025-0004",
            agreement_version: stored.version,
            template: "procurement",
            template_version: "2.0.0",
            event: None,
            file_name: "k.pdf",
            sha256: &avtal::documents::sha256_hex(b"%PDF-1.7"),
            content: b"%PDF-1.7",
            created_by: "test",
            clauses: &[],
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let upload = avtal::registry::signed::SignedUpload {
        bytes: b"%PDF-1.4\n%signed\n%%EOF\n".to_vec(),
        signatories: vec![avtal::domain::signing::Signatory {
            name: "Sara Nyström".into(),
            role: None,
            party: None,
        }],
        ..Default::default()
    };
    app.registry
        .record_signed_copy(&key, doc.id, &upload)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn a_backup_taken_while_writes_run_restores_with_equal_counts_and_passes_the_check(
    app: TestApp,
) {
    app.load_examples().await;
    hand_in_a_report_file(&app).await;
    record_a_signed_copy(&app).await;
    let data_dir = app.registry.settings.data_dir.clone();
    let url: Option<String> = app
        .registry
        .settings
        .database_url
        .as_ref()
        .map(|u| u.expose().to_owned());
    assert_eq!(url.is_some(), app.backend == Backend::Postgres);
    avtal::links::key::load_or_create(&app.registry.settings)
        .unwrap_or_else(|e| panic!("link key: {e}"));
    let before = counts(&data_dir, url.as_deref()).await;

    // Contacts are created one after another (each with its audit entry) until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, made) = (Arc::clone(&stop), Arc::clone(&made));
        let (client, address) = (app.client.clone(), app.address.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let contact = json!({
                    "email": format!("skrivare{i}@haninge.example"),
                    "name": format!("Skrivare {i}"),
                    "organisation": "212900-0028",
                    "role": "contract_owner",
                });
                let r = client
                    .post(format!("{address}/api/v1/contacts"))
                    .json(&contact)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("write: {e}"));
                assert_eq!(r.status().as_u16(), 201);
                made.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    while made.load(Ordering::Relaxed) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let archive = out.path().join("avtal.tar");
    let backup = {
        let (dir, archive, url) = (data_dir.clone(), archive.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            avtal(
                &dir,
                url.as_deref(),
                &["backup", "-o", archive.to_str().unwrap_or_default()],
            )
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let during = made.load(Ordering::Relaxed);
    while made.load(Ordering::Relaxed) < during + 5 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap_or_else(|e| panic!("writer: {e}"));
    assert!(backup.status.success(), "backup failed: {}", text(&backup));
    let after = counts(&data_dir, url.as_deref()).await;

    // Into an empty data directory and, on PostgreSQL, a new empty database.
    let restored = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let target = restored.path().join("data");
    let target_url: Option<String> = test_settings(app.backend, &target)
        .await
        .database_url
        .map(|u| u.expose().to_owned());
    let archive_arg = archive.to_str().unwrap_or_default();
    let r = avtal(&target, target_url.as_deref(), &["restore", archive_arg]);
    assert!(r.status.success(), "restore failed: {}", text(&r));
    assert!(
        !target.join(avtal::registry::backup::DUMP_FILE).exists(),
        "the dump is not left in the data directory"
    );
    let c = avtal(&target, target_url.as_deref(), &["check"]);
    assert!(c.status.success(), "check failed: {}", text(&c));
    assert!(text(&c).contains("audit chain intact"), "{}", text(&c));

    let got = counts(&target, target_url.as_deref()).await;
    let manifest: serde_json::Value = {
        let mut a =
            tar::Archive::new(std::fs::File::open(&archive).unwrap_or_else(|e| panic!("{e}")));
        let mut first = a
            .entries()
            .unwrap_or_else(|e| panic!("{e}"))
            .next()
            .unwrap_or_else(|| panic!("empty archive"))
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::from_reader(&mut first).unwrap_or_else(|e| panic!("manifest: {e}"))
    };
    assert_eq!(
        manifest["counts"]["audit_entries"],
        json!(got.audit_entries)
    );
    let member = match app.backend {
        Backend::Sqlite => "avtal.db",
        Backend::Postgres => "avtal.pgdump",
    };
    assert!(manifest["files"][member].is_string(), "{manifest}");
    assert_eq!(
        manifest["database"],
        json!(match app.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    );
    assert_eq!(manifest["counts"]["report_files"], json!(1));
    assert_eq!(manifest["counts"]["signed_copies"], json!(1));
    assert_eq!(got.signed_copies, 1);
    assert_eq!(
        (got.agreements, got.organisations, got.report_files),
        (before.agreements, before.organisations, before.report_files)
    );
    assert!(
        before.audit_entries < got.audit_entries && got.audit_entries < after.audit_entries,
        "the copy is a moment between the start and the end of the writes: {} < {} < {}",
        before.audit_entries,
        got.audit_entries,
        after.audit_entries
    );
    assert_eq!(
        std::fs::read(data_dir.join("link_secret")).ok(),
        std::fs::read(target.join("link_secret")).ok(),
        "the link secret came along"
    );

    // Into a data directory that holds something: refused, nothing touched.
    let r = avtal(&target, target_url.as_deref(), &["restore", archive_arg]);
    assert!(!r.status.success());
    assert!(text(&r).contains("is not empty"), "{}", text(&r));
    let elsewhere = restored.path().join("elsewhere");
    if app.backend == Backend::Postgres {
        // Into a database that holds tables: refused, and the data directory stays empty.
        let r = avtal(&elsewhere, target_url.as_deref(), &["restore", archive_arg]);
        assert!(!r.status.success());
        assert!(
            text(&r).contains("restore only into an empty database"),
            "{}",
            text(&r)
        );
        // Without a PostgreSQL database to restore into: refused.
        let r = avtal(&elsewhere, None, &["restore", archive_arg]);
        assert!(!r.status.success());
        assert!(text(&r).contains("set DATABASE_URL"), "{}", text(&r));
        assert!(
            !elsewhere.exists()
                || std::fs::read_dir(&elsewhere)
                    .map(|mut d| d.next().is_none())
                    .unwrap_or(false)
        );
    }

    // A stored file whose bytes changed fails the check, by name.
    {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(database_url(&target, target_url.as_deref()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let damage = match app.backend {
            Backend::Sqlite => "UPDATE report_file SET content = X'00'",
            Backend::Postgres => "UPDATE report_file SET content = '\\x00'::bytea",
        };
        conn.execute_unprepared(damage)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        conn.close().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let c = avtal(&target, target_url.as_deref(), &["check"]);
    assert!(!c.status.success(), "a damaged file passed: {}", text(&c));
    assert!(text(&c).contains("report file 1"), "{}", text(&c));
    {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(database_url(&target, target_url.as_deref()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let damage = match app.backend {
            Backend::Sqlite => "UPDATE signed_copy SET content = X'00'",
            Backend::Postgres => "UPDATE signed_copy SET content = '\\x00'::bytea",
        };
        conn.execute_unprepared(damage)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        conn.close().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let c = avtal(&target, target_url.as_deref(), &["check"]);
    assert!(text(&c).contains("signed copy 1"), "{}", text(&c));
}

crate::on_both_backends!(
    a_backup_taken_while_writes_run_restores_with_equal_counts_and_passes_the_check,
);
