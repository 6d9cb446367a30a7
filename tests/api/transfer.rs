//! YAML import and export: all-or-nothing import with a precise error, and a lossless round trip.

use avtal::db::store::AgreementFilter;
use avtal::domain::codes::AgreementStatus;
use avtal::domain::org_number::OrgNumber;
use avtal::registry::transfer::{self, ExportFormat, ImportError, RegistryFile, parse_file};

use crate::helpers::{Backend, TestApp, spawn_app};

async fn export(app: &TestApp, format: ExportFormat) -> String {
    let mut out = Vec::new();
    transfer::export(
        &app.registry.db,
        format,
        &AgreementFilter::default(),
        &mut out,
    )
    .await
    .unwrap_or_else(|e| panic!("export: {e}"));
    String::from_utf8(out).unwrap_or_default()
}

async fn export_then_import_gives_the_same_registry(app: TestApp) {
    app.load_examples().await;
    let yaml = export(&app, ExportFormat::Yaml).await;
    let parsed = parse_file("export.yaml", &yaml)
        .unwrap_or_else(|p| panic!("export does not parse back: {p}"));
    assert_eq!(parsed.agreements.len(), 15);
    assert_eq!(parsed.organisations.len(), 21);
    assert_eq!(parsed.contacts.len(), 25);

    let other = spawn_app(app.backend).await;
    let mut quiet = |_: usize, _: usize| {};
    let summary = transfer::import(
        &other.registry,
        vec![("export.yaml".into(), parsed.clone())],
        &mut quiet,
    )
    .await
    .unwrap_or_else(|e| panic!("re-import: {e:?}"));
    assert_eq!(summary.agreements_created, 15);
    let again = export(&other, ExportFormat::Yaml).await;
    assert_eq!(again, yaml, "export -> import -> export is byte-identical");

    // JSON carries the same registry.
    let json = export(&app, ExportFormat::Json).await;
    let from_json: RegistryFile =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("json export: {e}"));
    assert_eq!(from_json, parsed);

    // Importing the same data again changes nothing.
    let summary = transfer::import(
        &other.registry,
        vec![("export.yaml".into(), parsed)],
        &mut quiet,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        (summary.agreements_created, summary.agreements_updated),
        (0, 0)
    );
}

async fn one_bad_record_among_many_refuses_the_whole_import(app: TestApp) {
    app.load_examples().await;
    let yaml = export(&app, ExportFormat::Yaml).await;
    let mut file = parse_file("big.yaml", &yaml).unwrap_or_else(|p| panic!("{p}"));
    let template = file
        .agreements
        .iter()
        .find(|a| a.reference.as_str() == "AGR-2025-0004")
        .cloned()
        .unwrap_or_else(|| panic!("sample"));
    let fresh = spawn_app(app.backend).await;
    let mut many = Vec::new();
    for i in 0..300 {
        let mut a = template.clone();
        a.reference = avtal::domain::agreement::Reference::parse(&format!("GEN-{i:05}"))
            .unwrap_or_else(|e| panic!("{e}"));
        if i == 217 {
            a.share_requirement_percent = Some(12);
        }
        many.push(a);
    }
    file.agreements.extend(many);
    let mut quiet = |_: usize, _: usize| {};
    let err = transfer::import(&fresh.registry, vec![("big.yaml".into(), file)], &mut quiet).await;
    let Err(ImportError::Invalid(problems)) = err else {
        panic!("the import must be refused")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.file, "big.yaml");
    assert_eq!(p.record, "agreements no. 233 (GEN-00217)");
    assert_eq!(p.field, "share_requirement_percent");
    assert_eq!(p.value, "12");
    assert_eq!(p.rule, "reserved_share_min_30");
    let r = fresh.get("/api/v1/agreements").await;
    assert_eq!(r.body["total"], 0, "nothing was written");
    let r = fresh.get("/api/v1/organisations").await;
    assert_eq!(r.body["total"], 0, "not even the organisations");
}

async fn a_yaml_syntax_error_names_the_file_and_line(_app: TestApp) {
    let text = "organisations:\n  - org_number: 212900-0010\n    name: [unclosed\n";
    let p = parse_file("broken.yaml", text)
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert_eq!(p.file, "broken.yaml");
    assert!(
        p.message.contains('3') || p.message.contains("line"),
        "location in {}",
        p.message
    );
    let p = parse_file("typo.yaml", "agreement: []\n")
        .err()
        .unwrap_or_else(|| panic!("unknown top-level key must fail"));
    assert!(p.message.contains("agreement"), "{}", p.message);
}

async fn a_status_change_the_api_refuses_is_refused_by_the_import_too(app: TestApp) {
    app.load_examples().await;
    let before = app.agreement("AGR-2025-0004").await;
    assert_eq!(before.body["agreement"]["status"], "active");
    // The API refuses active -> draft.
    let mut doc = before.body["agreement"].clone();
    doc["status"] = serde_json::json!("draft");
    let r = app
        .put(
            "/api/v1/agreements/AGR-2025-0004",
            &serde_json::json!({"version": before.body["version"], "agreement": doc}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["rule"].as_str()),
        (422, Some("status_transition")),
        "{}",
        r.body
    );

    // The import refuses the same change, and writes nothing of a file that holds it: not the
    // new organisation beside it either.
    let yaml = export(&app, ExportFormat::Yaml).await;
    let mut file = parse_file("change.yaml", &yaml).unwrap_or_else(|p| panic!("{p}"));
    file.agreements
        .retain(|a| a.reference.as_str() == "AGR-2025-0004");
    file.agreements[0].status = AgreementStatus::Draft;
    let mut newcomer = file.organisations[0].clone();
    newcomer.org_number = OrgNumber::parse("556677-8899").unwrap_or_else(|e| panic!("{e}"));
    newcomer.name = "Nykomlingen AB".into();
    file.organisations = vec![newcomer];
    file.contacts.clear();
    let mut quiet = |_: usize, _: usize| {};
    let err = transfer::import(
        &app.registry,
        vec![("change.yaml".into(), file)],
        &mut quiet,
    )
    .await;
    let Err(ImportError::Invalid(problems)) = err else {
        panic!("the import must be refused")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.file, "change.yaml");
    assert_eq!(p.record, "agreements no. 1 (AGR-2025-0004)");
    assert_eq!(
        (p.field.as_str(), p.rule.as_str()),
        ("status", "status_transition")
    );
    let after = app.agreement("AGR-2025-0004").await;
    assert_eq!(after.body["agreement"]["status"], "active");
    assert_eq!(after.body["version"], before.body["version"]);
    let r = app.get("/api/v1/organisations/556677-8899").await;
    assert_eq!(r.status, 404, "nothing was written: {}", r.body);
}

crate::on_both_backends!(
    export_then_import_gives_the_same_registry,
    one_bad_record_among_many_refuses_the_whole_import,
    a_yaml_syntax_error_names_the_file_and_line,
    a_status_change_the_api_refuses_is_refused_by_the_import_too,
);

#[tokio::test]
async fn health_reports_the_database() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(backend).await;
        let r = app.get("/health").await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body["database"],
            if backend == Backend::Sqlite {
                "sqlite"
            } else {
                "postgresql"
            }
        );
    }
}
