//! Every sample agreement, loaded from `contracts/examples/`, yields the dates that
//! `tests/fixtures/agreements.json` (a copy of the shared samples) says the rules must produce.

use serde_json::Value;

use crate::helpers::TestApp;

fn fixture() -> Value {
    let text = include_str!("../fixtures/agreements.json");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture: {e}"))
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

async fn every_sample_matches_the_dates_in_the_json(app: TestApp) {
    app.load_examples().await;
    let fx = fixture();
    let samples = fx["agreements"].as_array().cloned().unwrap_or_default();
    assert_eq!(samples.len(), 13, "the fixture has 13 samples");
    for sample in samples {
        let reference = s(&sample["id"]).unwrap_or_default().to_owned();
        let r = app.agreement(&reference).await;
        assert_eq!(r.status, 200, "{reference} was not imported: {}", r.body);
        let a = &r.body["agreement"];
        let d = &r.body["derived"];

        // Current end: the JSON's end, except after a notice, when it is the effective end.
        let expected_end = sample["termination"]["effective_end"]
            .as_str()
            .or(s(&sample["period"]["end"]));
        assert_eq!(
            s(&a["period"]["current_end"]),
            expected_end,
            "{reference}: current end"
        );
        assert_eq!(
            s(&a["period"]["start"]),
            s(&sample["period"]["start"]),
            "{reference}: start"
        );
        if let Some(original) = s(&sample["period"]["original_end"]) {
            assert_eq!(
                s(&a["period"]["original_end"]),
                Some(original),
                "{reference}: original end"
            );
        }
        if let Some(max) = s(&sample["period"]["max_extent"]) {
            assert_eq!(
                s(&a["period"]["outer_limit"]),
                Some(max),
                "{reference}: outer limit"
            );
        }
        assert_eq!(s(&a["status"]), s(&sample["status"]), "{reference}: status");

        // Options: decide-by dates from the rule, and states as of the samples' today.
        for o in sample["options"].as_array().cloned().unwrap_or_default() {
            let seq = o["seq"].as_u64().unwrap_or_default();
            let derived = d["options"]
                .as_array()
                .and_then(|v| v.iter().find(|x| x["seq"].as_u64() == Some(seq)))
                .unwrap_or_else(|| panic!("{reference}: option {seq} missing in {d}"));
            if let Some(by) = s(&o["decide_by"]) {
                assert_eq!(
                    s(&derived["decide_by"]),
                    Some(by),
                    "{reference}: option {seq} decide-by"
                );
            }
            if let Some(state) = s(&o["status"]) {
                assert_eq!(
                    s(&derived["state"]),
                    Some(state),
                    "{reference}: option {seq} state"
                );
            }
        }

        // Tacit renewal: the next notice deadline counts from the current (renewed) term.
        if let Some(renewal) = sample.get("auto_renewal") {
            assert_eq!(
                s(&a["period"]["current_end"]),
                s(&renewal["result_end"]),
                "{reference}: renewed end"
            );
            assert_eq!(
                s(&d["renewal_notice_deadline"]),
                Some("2027-09-30"),
                "{reference}: next renewal notice deadline"
            );
        }
        if let Some(dialogue) = sample.get("renewal_dialogue") {
            assert_eq!(
                s(&d["renewal_dialogue_due"]),
                s(&dialogue["due"]),
                "{reference}: renewal dialogue"
            );
        }
        if let Some(notice) = sample["termination"].get("notice_given") {
            assert_eq!(
                s(&a["termination"]["notice"]["received_on"]),
                s(&notice["date"]),
                "{reference}: notice date"
            );
            assert_eq!(
                s(&a["termination"]["notice"]["effective_end"]),
                s(&sample["termination"]["effective_end"]),
                "{reference}: effective end"
            );
        }
    }
}

async fn the_framework_cap_is_start_plus_four_years(app: TestApp) {
    app.load_examples().await;
    let r = app.agreement("AGR-2025-0005").await;
    assert_eq!(r.body["agreement"]["period"]["outer_limit"], "2029-01-14");
    // Pushing the outer limit one day past start + 4 years is refused with the rule named.
    let mut doc = r.body["agreement"].clone();
    doc["period"]["outer_limit"] = "2029-01-15".into();
    let put = app
        .put(
            "/api/v1/agreements/AGR-2025-0005",
            &serde_json::json!({"version": r.body["version"], "agreement": doc}),
        )
        .await;
    assert_eq!(put.status, 422, "{}", put.body);
    assert_eq!(put.body["rule"], "framework_max_4_years");
}

async fn the_list_filters_find_the_right_samples(app: TestApp) {
    app.load_examples().await;
    let cases: &[(&str, &[&str])] = &[
        (
            "social_objective=opp&active_on=2026-11-22",
            &[
                "AGR-2024-0008",
                "AGR-2025-0004",
                "AGR-2025-0005",
                "AGR-2025-0013",
                "AGR-2026-0011",
            ],
        ),
        (
            "kind=iop&status=active",
            &[
                "AGR-2024-0003",
                "AGR-2025-0001",
                "AGR-2025-0014",
                "AGR-2026-0002",
                "AGR-2026-0009",
            ],
        ),
        (
            "reserved=participation",
            &["AGR-2025-0004", "AGR-2025-0013"],
        ),
        ("reserved=execution", &["AGR-2024-0008"]),
        ("reserved=idea_based", &["AGR-2025-0007"]),
        (
            "legal_basis=lou_4_18_1",
            &["AGR-2025-0004", "AGR-2025-0013"],
        ),
        (
            "party=212900-0044",
            &["AGR-2024-0010", "AGR-2025-0005", "AGR-2026-0011"],
        ),
        (
            "ends_before=2027-01-01&active_on=2026-11-22",
            &["AGR-2026-0002"],
        ),
        (
            "active_on=2026-11-16",
            &[
                "AGR-2024-0003",
                "AGR-2024-0008",
                "AGR-2025-0001",
                "AGR-2025-0004",
                "AGR-2025-0005",
                "AGR-2025-0007",
                "AGR-2025-0013",
                "AGR-2025-0014",
                "AGR-2026-0002",
                "AGR-2026-0006",
                "AGR-2026-0009",
                "AGR-2026-0011",
            ],
        ),
        (
            "active_on=2026-11-15&party=802990-0035",
            &["AGR-2024-0010", "AGR-2025-0014"],
        ),
        ("q=grönytor", &["AGR-2025-0013"]),
        (
            "q=agr-2026-00&sort=reference",
            &[
                "AGR-2026-0002",
                "AGR-2026-0006",
                "AGR-2026-0009",
                "AGR-2026-0011",
            ],
        ),
        ("q=100%25", &[]),
        ("status=draft", &["AGR-2027-0012"]),
    ];
    for (query, expected) in cases {
        let r = app
            .get(&format!("/api/v1/agreements?{query}&limit=100"))
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let got: Vec<&str> = r.body["items"]
            .as_array()
            .map(|v| v.iter().filter_map(|i| i["reference"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(&got, expected, "filter {query}");
        assert_eq!(
            r.body["total"].as_u64(),
            Some(expected.len() as u64),
            "total for {query}"
        );
        assert_eq!(
            r.body["total_exact"], true,
            "{query}: a small total is exact"
        );
    }
}

async fn pages_are_stable_and_complete(app: TestApp) {
    app.load_examples().await;
    let mut seen = Vec::new();
    for page in 1..=5 {
        let r = app
            .get(&format!("/api/v1/agreements?sort=-end&limit=3&page={page}"))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["total"], 15);
        seen.extend(
            r.body["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|i| (i["current_end"].clone(), i["reference"].clone())),
        );
    }
    assert_eq!(seen.len(), 15, "every agreement exactly once across pages");
    let mut refs: Vec<_> = seen.iter().map(|x| x.1.to_string()).collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), 15);
    let ends: Vec<String> = seen
        .iter()
        .map(|x| x.0.as_str().unwrap_or_default().to_owned())
        .collect();
    let mut sorted = ends.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ends, sorted, "sorted by end, descending");
}

crate::on_both_backends!(
    every_sample_matches_the_dates_in_the_json,
    the_framework_cap_is_start_plus_four_years,
    the_list_filters_find_the_right_samples,
    pages_are_stable_and_complete,
);
