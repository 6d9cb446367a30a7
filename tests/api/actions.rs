//! The actions on an agreement: options, notices, amendments and status transitions.

use serde_json::json;

use crate::helpers::TestApp;

async fn exercising_an_option_moves_the_end_and_records_a_mod_rev_amendment(app: TestApp) {
    app.load_examples().await;
    let before = app.agreement("AGR-2025-0004").await;
    assert_eq!(before.body["derived"]["next_option"], 1);
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0004/exercise-option",
            &json!({"seq": 1, "decided_on": "2026-12-01", "version": before.body["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = &r.body["agreement"];
    assert_eq!(a["period"]["current_end"], "2028-03-31");
    assert_eq!(
        a["period"]["original_end"], "2027-03-31",
        "the original end never moves"
    );
    assert_eq!(a["options"][0]["state"], "exercised");
    assert_eq!(a["options"][0]["decided_on"], "2026-12-01");
    let last = a["amendments"]
        .as_array()
        .and_then(|v| v.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["ground"], "17:10");
    assert_eq!(last["option_seq"], 1);
    assert_eq!(last["new_end"], "2028-03-31");
    assert_eq!(
        r.body["version"],
        before.body["version"].as_i64().unwrap_or_default() + 1
    );
    // The next option's decide-by now counts from the extended term: 2028-03-31 minus 3 months.
    assert_eq!(r.body["derived"]["next_option"], 2);
    assert_eq!(r.body["derived"]["options"][1]["decide_by"], "2027-12-31");
}

async fn exercising_an_option_past_the_outer_limit_returns_422(app: TestApp) {
    app.load_examples().await;
    // AGR-2025-0013: one 12-month option up to 2028-04-30. Lower the outer limit so it no longer fits.
    let before = app.agreement("AGR-2025-0013").await;
    let mut doc = before.body["agreement"].clone();
    doc["period"]["outer_limit"] = json!("2027-12-31");
    let put = app
        .put(
            "/api/v1/agreements/AGR-2025-0013",
            &json!({"version": before.body["version"], "agreement": doc}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0013/exercise-option",
            &json!({"seq": 1, "decided_on": "2026-12-01"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // The refusal comes from the action itself (field `seq`), not only from validating its result
    // (which would name `period.current_end`).
    assert_eq!(
        (
            r.body["field"].as_str(),
            r.body["value"].as_str(),
            r.body["rule"].as_str()
        ),
        (Some("seq"), Some("1"), Some("outer_limit")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("past the outer limit 2027-12-31"),
        "{}",
        r.body
    );
    assert_eq!(
        app.agreement("AGR-2025-0013").await.body["agreement"]["period"]["current_end"],
        "2027-04-30"
    );
}

async fn options_are_decided_in_sequence(app: TestApp) {
    app.load_examples().await;
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0004/exercise-option",
            &json!({"seq": 2, "decided_on": "2026-12-01"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str(), r.body["rule"].as_str()),
        (422, Some("seq"), Some("options_sequential")),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["message"], "options are decided in order; option 1 comes first",
        "{}",
        r.body
    );
    assert_eq!(
        app.agreement("AGR-2025-0004").await.body["agreement"]["options"][1]["state"],
        "available",
        "a refused action changes nothing"
    );
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0004/decline-option",
            &json!({"seq": 1, "decided_on": "2026-12-01"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agreement"]["options"][0]["state"], "declined");
    assert_eq!(r.body["agreement"]["period"]["current_end"], "2027-03-31");
    assert!(
        r.body["derived"]["next_option"].is_null(),
        "after a declined option none is open: {}",
        r.body["derived"]
    );
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0004/exercise-option",
            &json!({"seq": 2, "decided_on": "2026-12-02"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["rule"].as_str()),
        (422, Some("option_open")),
        "{}",
        r.body
    );
}

async fn an_option_past_its_decide_by_date_is_lapsed(app: TestApp) {
    app.load_examples().await;
    // AGR-2025-0007: decide-by 2026-12-31 (2027-06-30 minus 6 months, month-end anchored).
    let r = app.agreement("AGR-2025-0007").await;
    assert_eq!(r.body["derived"]["options"][0]["decide_by"], "2026-12-31");
    assert_eq!(r.body["derived"]["options"][0]["state"], "available");
    let late = app
        .post(
            "/api/v1/agreements/AGR-2025-0007/exercise-option",
            &json!({"seq": 1, "decided_on": "2027-01-01"}),
        )
        .await;
    assert_eq!(
        (late.status, late.body["rule"].as_str()),
        (422, Some("option_open")),
        "{}",
        late.body
    );
    assert!(
        late.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("lapsed"),
        "{}",
        late.body
    );
    let in_time = app
        .post(
            "/api/v1/agreements/AGR-2025-0007/exercise-option",
            &json!({"seq": 1, "decided_on": "2026-12-31"}),
        )
        .await;
    assert_eq!(
        in_time.status, 200,
        "on the decide-by date itself it is still open: {}",
        in_time.body
    );
    assert_eq!(
        in_time.body["agreement"]["period"]["current_end"],
        "2028-06-30"
    );
}

async fn notice_gives_an_effective_end_by_month_arithmetic(app: TestApp) {
    app.load_examples().await;
    // AGR-2026-0002: 3 months' notice; received 2026-11-30 -> 2027-02-28 (no 30 February).
    let r = app
        .post(
            "/api/v1/agreements/AGR-2026-0002/notice",
            &json!({"by": "212900-0036", "received_on": "2026-09-30"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["agreement"]["termination"]["notice"]["effective_end"],
        "2026-12-31"
    );
    assert_eq!(r.body["agreement"]["status"], "notice_given");
    // AGR-2025-0001 terminates at month end: 6 months from 2026-11-10 is 2027-05-10 -> 2027-05-31.
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0001/notice",
            &json!({"by": "769990-0010", "received_on": "2026-11-10"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["agreement"]["termination"]["notice"]["effective_end"],
        "2027-05-31"
    );
    assert_eq!(r.body["agreement"]["period"]["current_end"], "2027-05-31");
    // Notice from an organisation that is not a party is refused.
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0013/notice",
            &json!({"by": "212900-0010", "received_on": "2026-11-10"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

async fn an_illegal_transition_lists_the_allowed_ones(app: TestApp) {
    app.load_examples().await;
    let r = app
        .post("/api/v1/agreements/AGR-2024-0010/activate", &json!({}))
        .await;
    assert_eq!(
        (r.status, r.body["rule"].as_str()),
        (422, Some("status_transition")),
        "{}",
        r.body
    );
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("final"),
        "{}",
        r.body
    );
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0004/transition",
            &json!({"to": "draft"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("notice_given, expired, terminated"),
        "{}",
        r.body
    );
    // The draft IOP cannot become active without decision and legal assessment.
    let r = app
        .post("/api/v1/agreements/AGR-2027-0012/activate", &json!({}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let rules: Vec<&str> = r.body["errors"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["rule"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        rules.contains(&"iop_legal_assessment") && rules.contains(&"iop_decision"),
        "{rules:?}"
    );
    assert_eq!(
        app.agreement("AGR-2027-0012").await.body["agreement"]["status"],
        "draft"
    );
    let r = app
        .post("/api/v1/agreements/AGR-2027-0012/cancel", &json!({}))
        .await;
    assert_eq!(
        (r.status, r.body["agreement"]["status"].as_str()),
        (200, Some("cancelled")),
        "{}",
        r.body
    );
}

async fn an_amendment_cites_its_ground_and_can_move_the_end(app: TestApp) {
    app.load_examples().await;
    let amendment = json!({"date": "2026-11-20", "ground": "17:14", "rationale": "Ändrad fakturaadress", "value_change_sek": "0"});
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0013/amendments",
            &json!({"amendment": amendment}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let n = r.body["agreement"]["amendments"].as_array().map(Vec::len);
    assert_eq!(n, Some(2));
    let bad = json!({"date": "2026-11-20", "ground": "17:99", "rationale": "x"});
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0013/amendments",
            &json!({"amendment": bad}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str(), r.body["rule"].as_str()),
        (422, Some("amendment.ground"), Some("unknown_code")),
        "{}",
        r.body
    );
    let past_limit =
        json!({"date": "2026-11-20", "ground": "17:12", "rationale": "x", "new_end": "2030-01-01"});
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0013/amendments",
            &json!({"amendment": past_limit}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["rule"].as_str()),
        (422, Some("outer_limit")),
        "{}",
        r.body
    );
}

async fn unknown_actions_and_agreements_get_404(app: TestApp) {
    app.load_examples().await;
    assert_eq!(
        app.post("/api/v1/agreements/AGR-2025-0013/explode", &json!({}))
            .await
            .status,
        404
    );
    assert_eq!(
        app.post("/api/v1/agreements/AGR-1900-0001/activate", &json!({}))
            .await
            .status,
        404
    );
    let r = app
        .post(
            "/api/v1/agreements/AGR-2025-0013/exercise-option",
            &json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("seq")),
        "{}",
        r.body
    );
}

crate::on_both_backends!(
    exercising_an_option_moves_the_end_and_records_a_mod_rev_amendment,
    exercising_an_option_past_the_outer_limit_returns_422,
    options_are_decided_in_sequence,
    an_option_past_its_decide_by_date_is_lapsed,
    notice_gives_an_effective_end_by_month_arithmetic,
    an_illegal_transition_lists_the_allowed_ones,
    an_amendment_cites_its_ground_and_can_move_the_end,
    unknown_actions_and_agreements_get_404,
);
