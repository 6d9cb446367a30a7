//! Who may be a party: an ASF is its own mark beside the legal form and idea-based; an IOP
//! partner is idea-based and a supplier of a contract reserved under LOU 4 kap. 18 § 1 p. an ASF,
//! unless the agreement records why; a samordningsförbund's funded agreement is signed by one of
//! its members. And an option longer than the room left to the outer limit warns on save.

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Replaces organisation `number` with `change` applied to it.
async fn change_org(app: &TestApp, number: &str, change: impl FnOnce(&mut Value)) {
    let r = app.get(&format!("/api/v1/organisations/{number}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The stored record is the organisation with its id, version and times beside it.
    let mut org = r.body.clone();
    for k in ["version", "created_at", "updated_at", "id"] {
        org.as_object_mut().map(|o| o.remove(k));
    }
    change(&mut org);
    let r = app
        .put(
            &format!("/api/v1/organisations/{number}"),
            &json!({"version": r.body["version"], "organisation": org}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// PUTs `doc` as agreement `reference` at the stored version.
async fn put_agreement(app: &TestApp, reference: &str, doc: &Value) -> crate::helpers::Reply {
    let version = app.agreement(reference).await.body["version"].clone();
    app.put(
        &format!("/api/v1/agreements/{reference}"),
        &json!({"version": version, "agreement": doc}),
    )
    .await
}

fn has_error(body: &Value, field: &str, rule: &str) -> bool {
    body["errors"]
        .as_array()
        .is_some_and(|es| es.iter().any(|e| e["field"] == field && e["rule"] == rule))
}

async fn an_ekonomisk_forening_can_be_both_an_asf_and_idea_based(app: TestApp) {
    let both = json!({"org_number": "769990-0085", "name": "Kooperativet Båda",
        "legal_form": "ekonomisk_forening", "kind": "work_integration_social_enterprise",
        "idea_based": true, "registered_idea_based_on": "2024-05-02"});
    let r = app.post("/api/v1/organisations", &both).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.get("/api/v1/organisations/769990-0085").await;
    let text = r.body.to_string();
    assert!(text.contains("\"idea_based\":true"), "{text}");
    // Registered but not marked idea-based: refused, naming the field and the rule.
    let unmarked = json!({"org_number": "769990-0093", "name": "Kooperativet Ett",
        "legal_form": "ekonomisk_forening", "kind": "work_integration_social_enterprise",
        "registered_idea_based_on": "2024-05-02"});
    let r = app.post("/api/v1/organisations", &unmarked).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["field"], "registered_idea_based_on", "{}", r.body);
    // Only a samordningsförbund has members.
    let r = app
        .post(
            "/api/v1/organisations",
            &json!({"org_number": "212900-0085", "name": "Nynäshamns kommun",
                    "legal_form": "kommun", "kind": "public_buyer", "members": ["212900-0093"]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        (r.body["field"].as_str(), r.body["rule"].as_str()),
        (Some("members"), Some("members_of_samordningsforbund")),
        "{}",
        r.body
    );
    assert_eq!(
        app.get("/api/v1/organisations/212900-0085").await.status,
        404
    );
}

async fn an_iop_partner_that_is_not_idea_based_is_refused_or_accepted_with_a_recorded_reason(
    app: TestApp,
) {
    app.load_examples().await;
    // AGR-2026-0009's partner Solrosen is an ASF and idea-based; take the idea-based mark away.
    change_org(&app, "769990-0077", |o| {
        o.as_object_mut().map(|o| o.remove("idea_based"));
    })
    .await;
    let before = app.agreement("AGR-2026-0009").await.body;
    let mut doc = before["agreement"].clone();
    doc["notes"] = json!("ändrad");
    let r = put_agreement(&app, "AGR-2026-0009", &doc).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        has_error(&r.body, "parties[1].org", "iop_partner_idea_based"),
        "{}",
        r.body
    );
    assert_eq!(app.agreement("AGR-2026-0009").await.body, before);
    // With the reason recorded it is stored, and the audit entry keeps the reason.
    let reason = "Kooperativet är vinstutdelningsbegränsat; beslut i nämnden 2025-11-19 § 88";
    doc["eligibility_exception"] = json!(reason);
    let r = put_agreement(&app, "AGR-2026-0009", &doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agreement"]["eligibility_exception"], reason);
    let log = app.get("/api/v1/audit?agreement=AGR-2026-0009").await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body.to_string().contains(reason), "{}", log.body);
    // The agreement page shows the reason.
    let page = app
        .client
        .get(format!("{}/agreements/AGR-2026-0009", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains(reason), "{page}");
}

async fn a_reserved_contract_goes_to_an_asf_unless_a_reason_is_recorded(app: TestApp) {
    app.load_examples().await;
    // AGR-2025-0004 is reserved under LOU 4 kap. 18 § 1 p.; its supplier Ljusglimt is an ASF.
    let page = app
        .client
        .get(format!("{}/agreements/AGR-2025-0004", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("Arbetsintegrerande socialt företag"),
        "{page}"
    );
    change_org(&app, "769990-0051", |o| {
        o["kind"] = json!("other_supplier");
    })
    .await;
    let doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    let r = put_agreement(&app, "AGR-2025-0004", &doc).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let i = doc["parties"]
        .as_array()
        .and_then(|ps| ps.iter().position(|p| p["role"] == "supplier"))
        .unwrap_or_else(|| panic!("a supplier"));
    assert!(
        has_error(
            &r.body,
            &format!("parties[{i}].org"),
            "reserved_supplier_integration_aim"
        ),
        "{}",
        r.body
    );
    // Marked as an ASF beside its kind, it may supply the reserved contract again.
    change_org(&app, "769990-0051", |o| {
        o["work_integration"] = json!(true);
    })
    .await;
    let r = put_agreement(&app, "AGR-2025-0004", &doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn a_samordningsforbund_funds_only_what_one_of_its_members_signs(app: TestApp) {
    app.load_examples().await;
    let r = app.get("/api/v1/organisations/202900-0011").await;
    assert!(r.body.to_string().contains("212900-0028"), "{}", r.body);
    // Botkyrka is not a member of Samordningsförbundet Östra Södertörn.
    let before = app.agreement("AGR-2026-0009").await.body;
    let mut doc = before["agreement"].clone();
    doc["parties"][0]["org"] = json!("212900-0051");
    let r = put_agreement(&app, "AGR-2026-0009", &doc).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        has_error(&r.body, "parties[2].org", "funded_by_member_authority"),
        "{}",
        r.body
    );
    // A recorded reason does not let a non-member sign.
    doc["eligibility_exception"] = json!("skäl");
    let r = put_agreement(&app, "AGR-2026-0009", &doc).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(app.agreement("AGR-2026-0009").await.body, before);
}

async fn an_option_longer_than_the_room_left_warns_on_save_and_on_the_page(app: TestApp) {
    app.load_examples().await;
    // AGR-2025-0004 ends 2027-03-31 with two 12-month options; an outer limit of 2028-01-31
    // leaves room for neither.
    let mut doc = app.agreement("AGR-2025-0004").await.body["agreement"].clone();
    doc["reference"] = json!("AGR-2026-0150");
    doc["period"]["outer_limit"] = json!("2028-01-31");
    doc.as_object_mut().map(|o| o.remove("reporting"));
    let r = app.post("/api/v1/agreements", &doc).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let warnings = r.body["derived"]["warnings"].clone();
    assert_eq!(warnings[0]["code"], "option_past_outer_limit", "{warnings}");
    assert_eq!(warnings[0]["field"], "options[0].months", "{warnings}");
    assert!(
        warnings[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2028-01-31")),
        "{warnings}"
    );
    let shown = app.agreement("AGR-2026-0150").await;
    assert_eq!(shown.body["derived"]["warnings"], warnings);
    // A save that makes room takes the warning away.
    doc["period"]["outer_limit"] = json!("2029-03-31");
    let r = put_agreement(&app, "AGR-2026-0150", &doc).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["derived"]["warnings"], json!([]));
    doc["period"]["outer_limit"] = json!("2028-01-31");
    let r = put_agreement(&app, "AGR-2026-0150", &doc).await;
    assert_eq!(r.body["derived"]["warnings"], warnings);
    let page = app
        .client
        .get(format!("{}/agreements/AGR-2026-0150", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        page.contains("Optionen är längre än tiden som återstår till den yttersta gränsen"),
        "{page}"
    );
}

crate::on_both_backends!(
    an_ekonomisk_forening_can_be_both_an_asf_and_idea_based,
    an_iop_partner_that_is_not_idea_based_is_refused_or_accepted_with_a_recorded_reason,
    a_reserved_contract_goes_to_an_asf_unless_a_reason_is_recorded,
    a_samordningsforbund_funds_only_what_one_of_its_members_signs,
    an_option_longer_than_the_room_left_warns_on_save_and_on_the_page,
);
