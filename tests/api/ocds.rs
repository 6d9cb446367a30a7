//! OCDS 1.1: the 15 samples as a release package (HTTP and CLI) and a record package pass the
//! official validator (libcoveocds, offline), and the mapping carries the registry's data.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::TestApp;

/// The validator's Python and script, or `None` (with a note) when they are not installed
/// locally; under `CI` their absence fails the test.
fn validator() -> Option<(PathBuf, PathBuf)> {
    let python = std::env::var_os("AVTAL_OCDS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/avtal-tools/ocds-venv/bin/python"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/ocds/validate.py");
    if python.exists() && script.exists() {
        return Some((python, script));
    }
    let note = format!(
        "OCDS validator not found ({} and {}): run scripts/setup.sh",
        python.display(),
        script.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{note}");
    }
    eprintln!("skipped: {note}");
    None
}

/// Runs the official validator on a package; panics with its report unless it passes.
pub(crate) async fn assert_valid(package: &Value) {
    let Some((python, script)) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("package.json");
    std::fs::write(&path, serde_json::to_vec(package).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&path)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the OCDS validator refused the package:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn release<'a>(package: &'a Value, reference: &str) -> &'a Value {
    package["releases"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["ocid"].as_str() == Some(&format!("ocds-avtal-{reference}")))
        })
        .unwrap_or_else(|| panic!("no release of {reference}"))
}

fn has(v: &Value, item: &str) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(item)))
}

async fn the_samples_as_an_ocds_release_package_pass_the_validator(app: TestApp) {
    app.load_examples().await;
    let r = app.get("/api/v1/ocds/releases").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let package = r.body;
    assert_eq!(package["version"], "1.1");
    assert_eq!(package["releases"].as_array().map(Vec::len), Some(15));
    assert!(
        package["extensions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|u| u
                .as_str()
                .is_some_and(|u| u.contains("ocds_sustainability_extension"))))
    );
    assert_valid(&package).await;

    // 4 kap. 18 § p.1: reserved participation, the BT-775 goal, report milestones.
    let reserved = release(&package, "AGR-2025-0004");
    let tender = &reserved["tender"];
    assert!(has(
        &tender["otherRequirements"]["reservedParticipation"],
        "shelteredWorkshop"
    ));
    assert_eq!(tender["contractTerms"]["reservedExecution"], false);
    let goals: Vec<&str> = tender["sustainability"]
        .as_array()
        .map(|s| s.iter().filter_map(|g| g["goal"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(goals, ["social.disadvantagedEmploymentOpportunities"]);
    assert!(has(
        &tender["sustainability"][0]["strategies"],
        "reservedParticipation"
    ));
    let contract = &reserved["contracts"][0];
    assert_eq!(contract["status"], "active");
    assert_eq!(contract["value"]["amount"], 1_450_000);
    assert_eq!(contract["value"]["currency"], "SEK");
    assert!(
        contract["period"]["maxExtentDate"]
            .as_str()
            .is_some_and(|d| d.starts_with("2029-03-31T23:59:59"))
    );
    let milestones = contract["implementation"]["milestones"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!milestones.is_empty(), "report occurrences are milestones");
    for m in &milestones {
        assert_eq!(m["type"], "reporting");
        assert!(
            ["scheduled", "met", "notMet"].contains(&m["status"].as_str().unwrap_or_default()),
            "{m}"
        );
    }
    assert!(has(&reserved["parties"][0]["roles"], "buyer"));
    assert_eq!(reserved["parties"][0]["identifier"]["scheme"], "SE-BLV");
    assert_eq!(reserved["parties"][0]["identifier"]["id"], "2129000028");
    assert_eq!(reserved["buyer"]["id"], "SE-BLV-2129000028");

    // An IOP: the partner has the local role, is no supplier, and signs; the exercised option is an amendment.
    let iop = release(&package, "AGR-2025-0001");
    let partner = iop["parties"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == "SE-BLV-7699900010"))
        .unwrap_or_else(|| panic!("the IOP partner is a party"));
    assert!(has(&partner["roles"], "iopPartner"));
    assert!(!has(&partner["roles"], "supplier"));
    assert!(iop["awards"][0]["suppliers"].is_null());
    let contract = &iop["contracts"][0];
    assert!(
        contract["signatories"]
            .as_array()
            .is_some_and(|s| s.iter().any(|o| o["id"] == "SE-BLV-7699900010"))
    );
    assert!(
        contract["amendments"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "the exercised option is an amendment: {contract}"
    );
    assert_eq!(
        contract["period"]["endDate"].as_str().map(|d| &d[..10]),
        Some("2027-12-31")
    );
}

async fn one_agreement_as_a_release_and_as_a_record_of_its_versions_passes_the_validator(
    app: TestApp,
) {
    app.load_examples().await;
    let r = app.get("/api/v1/ocds/releases/AGR-2025-0001").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["releases"].as_array().map(Vec::len), Some(1));
    assert_valid(&r.body).await;

    // A change gives the record a second release; the first keeps the old end.
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0004/exercise-option",
            &serde_json::json!({"seq": 1, "decided_on": "2026-11-20"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.get("/api/v1/ocds/records/AGR-2025-0004").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let record = &r.body["records"][0];
    let ends: Vec<&str> = record["releases"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["contracts"][0]["period"]["endDate"].as_str())
                .map(|d| &d[..10])
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        ends,
        ["2027-03-31", "2028-03-31"],
        "one release per version"
    );
    assert_eq!(
        record["compiledRelease"]["contracts"][0]["period"]["endDate"]
            .as_str()
            .map(|d| &d[..10]),
        Some("2028-03-31")
    );
    assert!(
        record["compiledRelease"]["contracts"][0]["amendments"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );

    let r = app.get("/api/v1/ocds/records/AGR-2025-0004").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let package = &r.body;
    for field in ["uri", "version", "publisher", "publishedDate", "extensions"] {
        assert!(!package[field].is_null(), "record package has {field}");
    }
    let record = &package["records"][0];
    assert_eq!(record["ocid"], "ocds-avtal-AGR-2025-0004");
    assert_eq!(record["compiledRelease"]["tag"][0], "compiled");
    // validate.py cannot check a record package offline: libcoveocds then fetches
    // versioned-release-validation-schema.json from standard.open-contracting.org. The record's
    // releases and its compiled release are checked as a release package instead.
    let mut releases = record["releases"].as_array().cloned().unwrap_or_default();
    releases.push(record["compiledRelease"].clone());
    let mut as_releases = package.clone();
    if let Some(obj) = as_releases.as_object_mut() {
        obj.remove("records");
        obj.insert("releases".into(), Value::Array(releases));
    }
    assert_valid(&as_releases).await;

    let r = app.get("/api/v1/ocds/records/AGR-1999-0000").await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = app.get("/api/v1/ocds/releases/not a reference").await;
    assert_eq!(r.status, 400, "{}", r.body);
}

async fn the_release_package_takes_the_list_filters(app: TestApp) {
    app.load_examples().await;
    let r = app.get("/api/v1/ocds/releases?kind=iop").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let releases = r.body["releases"].as_array().cloned().unwrap_or_default();
    assert!(!releases.is_empty());
    for rel in &releases {
        assert!(
            rel["tender"]["procurementMethodDetails"]
                .as_str()
                .is_some_and(|d| d.starts_with("IOP")),
            "{rel}"
        );
    }
    let r = app
        .get("/api/v1/ocds/releases?q=nothing-matches-this")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["releases"],
        serde_json::json!([]),
        "an empty package is still JSON"
    );
    let r = app.get("/api/v1/ocds/releases?kind=lease").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["field"], "kind");
}

crate::on_both_backends!(
    the_samples_as_an_ocds_release_package_pass_the_validator,
    one_agreement_as_a_release_and_as_a_record_of_its_versions_passes_the_validator,
    the_release_package_takes_the_list_filters,
);

/// The CLI on a SQLite data directory: import the samples, export OCDS and CSV with filters.
#[tokio::test]
async fn the_cli_exports_the_samples_as_ocds_and_csv_with_filters() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exe = env!("CARGO_BIN_EXE_avtal");
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contracts/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(exe)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("AVTAL_TODAY", "2026-11-22")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "avtal {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let mut import = vec!["import"];
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    import.extend(names.iter().map(String::as_str));
    run(&import);

    let ocds = dir.path().join("ocds.json");
    let out = run(&[
        "export",
        "--format",
        "ocds",
        "-o",
        &ocds.display().to_string(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 15 agreements"));
    let package: Value = serde_json::from_slice(&std::fs::read(&ocds).unwrap_or_default())
        .unwrap_or_else(|e| panic!("the CLI's OCDS is JSON: {e}"));
    assert_eq!(package["releases"].as_array().map(Vec::len), Some(15));
    assert_valid(&package).await;

    let out = run(&[
        "export",
        "--format",
        "csv",
        "--kind",
        "iop",
        "--active-on",
        "2026-11-22",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with('\u{feff}'));
    let rows: Vec<&str> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r.contains(";iop;")),
        "{text}"
    );

    let out = std::process::Command::new(exe)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["export", "--format", "csv", "--kind", "lease"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind"));
}

/// The ocid prefix is a setting.
#[tokio::test]
async fn the_ocid_prefix_comes_from_the_settings() {
    use crate::helpers::{Backend, spawn_with, test_settings};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = test_settings(Backend::Sqlite, dir.path()).await;
    settings.ocds.prefix = "ocds-x1y2z3-".into();
    settings.ocds.publisher = "Haninge kommun".into();
    let app = spawn_with(Backend::Sqlite, settings, dir).await;
    app.load_examples().await;
    let r = app.get("/api/v1/ocds/releases/AGR-2025-0004").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["releases"][0]["ocid"], "ocds-x1y2z3-AGR-2025-0004");
    assert_eq!(r.body["releases"][0]["id"], "ocds-x1y2z3-AGR-2025-0004-1");
    assert_eq!(r.body["publisher"]["name"], "Haninge kommun");
}
