//! Each registry rule, table-driven: a sample agreement that satisfies it is broken one way,
//! the write is refused with 422 naming field, value and rule, and nothing changes.

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Sets `value` at a `/`-separated path (array indices as numbers), creating objects on the way.
fn set(doc: &mut Value, path: &str, value: Value) {
    let mut cur = doc;
    let parts: Vec<&str> = path.split('/').collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        cur = match p.parse::<usize>() {
            Ok(n) => &mut cur[n],
            Err(_) => {
                if !cur.is_object() {
                    *cur = json!({});
                }
                if last {
                    cur[*p] = value;
                    return;
                }
                &mut cur[*p]
            }
        };
        if last {
            *cur = value;
            return;
        }
    }
}

struct Case {
    name: &'static str,
    sample: &'static str,
    path: &'static str,
    value: Value,
    field: &'static str,
    rule: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "start after original end",
            sample: "AGR-2025-0004",
            path: "period/start",
            value: json!("2027-04-01"),
            field: "period.original_end",
            rule: "period_order",
        },
        Case {
            name: "current end before original end",
            sample: "AGR-2025-0001",
            path: "period/current_end",
            value: json!("2026-06-30"),
            field: "period.current_end",
            rule: "period_order",
        },
        Case {
            name: "current end past outer limit",
            sample: "AGR-2025-0004",
            path: "period/current_end",
            value: json!("2029-04-30"),
            field: "period.current_end",
            rule: "outer_limit",
        },
        Case {
            name: "framework over 4 years",
            sample: "AGR-2025-0005",
            path: "period/outer_limit",
            value: json!("2029-06-30"),
            field: "period.outer_limit",
            rule: "framework_max_4_years",
        },
        Case {
            name: "4:18 p.1 without res-ws",
            sample: "AGR-2025-0004",
            path: "eforms/bt_71",
            value: json!("none"),
            field: "eforms.bt_71",
            rule: "reserved_participation_code",
        },
        Case {
            name: "4:18 p.1 with a 25 % share",
            sample: "AGR-2025-0004",
            path: "share_requirement_percent",
            value: json!(25),
            field: "share_requirement_percent",
            rule: "reserved_share_min_30",
        },
        Case {
            name: "4:18 p.2 without BT-736 yes",
            sample: "AGR-2024-0008",
            path: "eforms/bt_736",
            value: json!("no"),
            field: "eforms.bt_736",
            rule: "reserved_execution_code",
        },
        Case {
            name: "social objective without soc-obj",
            sample: "AGR-2025-0005",
            path: "eforms/bt_06",
            value: json!(["env-imp"]),
            field: "eforms.bt_06",
            rule: "social_objective_implies_soc_obj",
        },
        Case {
            name: "active IOP without legal assessment",
            sample: "AGR-2025-0001",
            path: "iop/legal_assessment",
            value: Value::Null,
            field: "iop.legal_assessment",
            rule: "iop_legal_assessment",
        },
        Case {
            name: "active IOP without decision",
            sample: "AGR-2024-0003",
            path: "decision",
            value: Value::Null,
            field: "decision",
            rule: "iop_decision",
        },
        Case {
            name: "IOP without IOP details",
            sample: "AGR-2026-0002",
            path: "iop",
            value: Value::Null,
            field: "iop",
            rule: "iop_details_required",
        },
        Case {
            name: "call-off starting after its framework",
            sample: "AGR-2026-0011",
            path: "period/start",
            value: json!("2028-02-01"),
            field: "period.start",
            rule: "call_off_within_framework",
        },
        Case {
            name: "call-off under a contract that is no framework",
            sample: "AGR-2026-0011",
            path: "framework",
            value: json!("AGR-2025-0004"),
            field: "framework",
            rule: "call_off_framework",
        },
        Case {
            name: "direct award over the threshold",
            sample: "AGR-2026-0006",
            path: "value/amount_sek",
            value: json!("700001"),
            field: "value.amount_sek",
            rule: "direct_award_threshold",
        },
        Case {
            name: "19:6 a supplier not in the register",
            sample: "AGR-2025-0007",
            path: "period/start",
            value: json!("2024-01-01"),
            field: "parties[1].org",
            rule: "idea_based_registered",
        },
        Case {
            name: "option exercised out of sequence",
            sample: "AGR-2025-0004",
            path: "options/1/state",
            value: json!("exercised"),
            field: "options[1].decided_on",
            rule: "option_decided_on",
        },
        Case {
            name: "option 2 exercised before option 1",
            sample: "AGR-2025-0004",
            path: "options/1",
            value: json!({"seq": 2, "months": 12, "decided_by": "buyer", "notice_months": 3, "state": "exercised", "decided_on": "2026-10-01"}),
            field: "options[1].state",
            rule: "options_sequential",
        },
        Case {
            name: "notice with a wrong effective end",
            sample: "AGR-2024-0010",
            path: "termination/notice/effective_end",
            value: json!("2026-11-30"),
            field: "termination.notice.effective_end",
            rule: "notice_effective_end",
        },
        Case {
            name: "samordningsförbund as buyer",
            sample: "AGR-2026-0009",
            path: "parties/2/role",
            value: json!("buyer"),
            field: "parties[2].org",
            rule: "funder_never_signs",
        },
        Case {
            name: "unknown contact",
            sample: "AGR-2025-0004",
            path: "contacts/owner",
            value: json!("nobody@nowhere.example"),
            field: "contacts.owner",
            rule: "unknown_contact",
        },
        Case {
            name: "LOU contract with unlimited tacit renewal",
            sample: "AGR-2025-0004",
            path: "tacit_renewal",
            value: json!({"months": 12, "notice_months": 3}),
            field: "tacit_renewal.max_renewals",
            rule: "lou_renewal_limited",
        },
    ]
}

async fn every_broken_rule_is_refused_with_field_value_and_rule(app: TestApp) {
    app.load_examples().await;
    for case in cases() {
        let before = app.agreement(case.sample).await;
        assert_eq!(
            before.status, 200,
            "{}: sample {} missing",
            case.name, case.sample
        );
        let mut doc = before.body["agreement"].clone();
        set(&mut doc, case.path, case.value.clone());
        let r = app
            .put(
                &format!("/api/v1/agreements/{}", case.sample),
                &json!({"version": before.body["version"], "agreement": doc}),
            )
            .await;
        assert_eq!(
            r.status, 422,
            "{}: expected 422, got {} {}",
            case.name, r.status, r.body
        );
        let errors = r.body["errors"].as_array().cloned().unwrap_or_default();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == case.field && e["rule"] == case.rule),
            "{}: expected field {} rule {}, got {}",
            case.name,
            case.field,
            case.rule,
            r.body
        );
        assert!(
            errors
                .iter()
                .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())),
            "{}: every error has a message",
            case.name
        );
        let after = app.agreement(case.sample).await;
        assert_eq!(
            after.body["agreement"], before.body["agreement"],
            "{}: nothing may change",
            case.name
        );
        assert_eq!(
            after.body["version"], before.body["version"],
            "{}: version unchanged",
            case.name
        );
    }
}

async fn a_new_agreement_breaking_a_rule_is_not_created(app: TestApp) {
    app.load_examples().await;
    let mut doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    doc["reference"] = json!("AGR-2026-0100");
    doc["share_requirement_percent"] = json!(10);
    let r = app.post("/api/v1/agreements", &doc).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["field"], "share_requirement_percent");
    assert_eq!(r.body["value"], "10");
    assert_eq!(app.agreement("AGR-2026-0100").await.status, 404);
    doc["share_requirement_percent"] = json!(35);
    let ok = app.post("/api/v1/agreements", &doc).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.body["version"], 1);
    let dup = app.post("/api/v1/agreements", &doc).await;
    assert_eq!(
        dup.status, 409,
        "a second agreement with the same reference: {}",
        dup.body
    );
}

async fn malformed_input_gets_400_or_422_naming_the_field(app: TestApp) {
    app.load_examples().await;
    let mut doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    doc["reference"] = json!("AGR-2026-0101");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("period/start", json!("2026-02-30"), "period.start"),
        ("parties/0/org", json!("212900-0011"), "parties[0].org"),
        ("value/amount_sek", json!("12,3,4"), "value.amount_sek"),
        ("kind", json!("lease"), "kind"),
        ("surprise", json!(1), "surprise"),
        (
            "contacts/owner",
            json!("a@b.se\r\nBcc: x@y.se"),
            "contacts.owner",
        ),
    ];
    for (path, value, field) in cases {
        let mut bad = doc.clone();
        set(&mut bad, path, value);
        let r = app.post("/api/v1/agreements", &bad).await;
        // Data that do not fit the body's shape: the 422 of every refused record.
        assert_eq!(r.status, 422, "{path}: {}", r.body);
        assert!(r.body["rule"].as_str().is_some(), "{path}: {}", r.body);
        assert!(
            r.body["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field) || f == "."),
            "{path}: field {} in {}",
            field,
            r.body
        );
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let r = app
        .post_raw(
            "/api/v1/agreements",
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = app
        .post_raw("/api/v1/agreements", "text/plain", b"{}".to_vec())
        .await;
    assert_eq!(r.status, 400);
    let r = app.get("/api/v1/agreements?active_on=22/11/2026").await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("active_on")),
        "{}",
        r.body
    );
    let r = app.get("/api/v1/agreements?colour=red").await;
    assert_eq!(r.status, 400, "unknown filter: {}", r.body);
    let r = app.get("/api/v1/agreements?limit=100000").await;
    assert_eq!((r.status, r.body["field"].as_str()), (400, Some("limit")));
    let r = app.get("/api/v1/agreements/not%20a%20ref").await;
    assert_eq!(r.status, 400);
    let r = app.get("/api/v1/agreements/AGR-1999-0001").await;
    assert_eq!(r.status, 404);
}

async fn a_body_over_the_limit_gets_413(app: TestApp) {
    let big = vec![b' '; 300 * 1024];
    let r = app
        .post_raw("/api/v1/agreements", "application/json", big)
        .await;
    assert_eq!(r.status, 413, "{}", r.body);
}

async fn a_stale_version_gets_409_and_overwrites_nothing(app: TestApp) {
    app.load_examples().await;
    let first = app.agreement("AGR-2025-0013").await;
    let mut doc = first.body["agreement"].clone();
    doc["title"] = json!("Ny titel");
    let ok = app
        .put(
            "/api/v1/agreements/AGR-2025-0013",
            &json!({"version": first.body["version"], "agreement": doc}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["version"], 2);
    let mut other = first.body["agreement"].clone();
    other["title"] = json!("Krockande titel");
    let stale = app
        .put(
            "/api/v1/agreements/AGR-2025-0013",
            &json!({"version": 1, "agreement": other}),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(
        app.agreement("AGR-2025-0013").await.body["agreement"]["title"],
        "Ny titel"
    );
}

async fn organisations_and_contacts_are_validated(app: TestApp) {
    let r = app.post("/api/v1/organisations", &json!({"org_number": "212900-0011", "name": "X", "legal_form": "kommun", "kind": "public_buyer"})).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (422, Some("org_number")),
        "{}",
        r.body
    );
    let r = app.post("/api/v1/organisations", &json!({"org_number": "2129000010", "name": " ", "legal_form": "kommun", "kind": "public_buyer"})).await;
    assert_eq!(
        (r.status, r.body["rule"].as_str()),
        (422, Some("required")),
        "{}",
        r.body
    );
    let r = app.post("/api/v1/organisations", &json!({"org_number": "2129000010", "name": "Kommunen", "legal_form": "kommun", "kind": "public_buyer"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["org_number"], "212900-0010", "stored normalised");
    let r = app.post("/api/v1/contacts", &json!({"email": "a@b.example", "name": "A", "organisation": "769990-0010", "role": "partner_contact"})).await;
    assert_eq!(
        (r.status, r.body["rule"].as_str()),
        (422, Some("unknown_organisation")),
        "{}",
        r.body
    );
    let r = app.post("/api/v1/contacts", &json!({"email": "A@B.example", "name": "A", "organisation": "212900-0010", "role": "contract_owner"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.get("/api/v1/contacts/a@b.example").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["email"], "a@b.example");
    let r = app.put("/api/v1/contacts/a@b.example", &json!({"version": 1, "contact": {"email": "a@b.example", "name": "A Andersson", "organisation": "212900-0010", "role": "contract_owner", "active": false}})).await;
    assert_eq!(
        (r.status, r.body["version"].as_i64()),
        (200, Some(2)),
        "{}",
        r.body
    );
}

async fn a_nul_character_or_a_page_out_of_range_gets_400_naming_the_field(app: TestApp) {
    app.load_examples().await;
    // In a JSON body, at any depth: refused before storage on both backends, nothing written.
    let mut doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    doc["reference"] = json!("AGR-2026-0102");
    for (path, field) in [("title", "title"), ("parties/0/name", "parties[0].name")] {
        let mut bad = doc.clone();
        set(&mut bad, path, json!("före\u{0}efter"));
        let r = app.post("/api/v1/agreements", &bad).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.body["field"], json!(field), "{}", r.body);
        assert!(
            r.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("NUL")),
            "{}",
            r.body
        );
    }
    assert_eq!(app.agreement("AGR-2026-0102").await.status, 404);
    // In a query string.
    for path in [
        "/api/v1/agreements?q=a%00b",
        "/api/v1/organisations?organisation=x%00",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body["field"].as_str().is_some(), "{path}: {}", r.body);
    }
    // A page far beyond any list: 400 naming `page`, never a 500.
    for path in [
        "/api/v1/agreements?page=18446744073709551615",
        "/api/v1/agreements?page=9223372036854775807&limit=500",
        "/api/v1/organisations?page=18446744073709551615",
        "/api/v1/contacts?page=9223372036854775807",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.body["field"], json!("page"), "{path}: {}", r.body);
    }
    // The last page allowed is simply empty.
    let r = app.get("/api/v1/agreements?page=1000000").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

crate::on_both_backends!(
    a_nul_character_or_a_page_out_of_range_gets_400_naming_the_field,
    every_broken_rule_is_refused_with_field_value_and_rule,
    a_new_agreement_breaking_a_rule_is_not_created,
    malformed_input_gets_400_or_422_naming_the_field,
    a_body_over_the_limit_gets_413,
    a_stale_version_gets_409_and_overwrites_nothing,
    organisations_and_contacts_are_validated,
);
