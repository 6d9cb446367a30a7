//! The OpenAPI document lists exactly the routes of the `/api/v1` router, so the two cannot drift.

use std::collections::BTreeSet;

use crate::helpers::TestApp;

/// `(method, path)` of every route of the `api` router in `src/web/mod.rs`, read from its source.
fn routes_in_the_route_table() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/web/mod.rs");
    let start = source.find("let api = Router::new()").unwrap_or_else(|| {
        panic!("src/web/mod.rs builds the api router as `let api = Router::new()`")
    });
    let block = &source[start..];
    let block = &block[..block.find(';').unwrap_or(block.len())];
    let mut out = BTreeSet::new();
    for call in block.split(".route(").skip(1) {
        let path = call
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("a route without a path: {call}"));
        let after_path = &call[call.find(',').unwrap_or(0)..];
        let mut found = false;
        for method in ["get", "post", "put", "delete", "patch"] {
            // `get(handler)` or `.post(handler)`: the method name not inside a longer identifier.
            let pattern = format!("{method}(");
            let routed = after_path.match_indices(&pattern).any(|(i, _)| {
                after_path[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
            });
            if routed {
                out.insert((method.to_owned(), path.to_owned()));
                found = true;
            }
        }
        assert!(found, "no method found for route {path}");
    }
    out
}

async fn the_openapi_document_lists_every_route_of_the_api_router(app: TestApp) {
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.body;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            assert!(op["responses"].is_object(), "{method} {path} has responses");
            documented.insert((method, path.clone()));
        }
    }
    // The action route is documented as one operation per action.
    let routed: BTreeSet<(String, String)> = routes_in_the_route_table()
        .into_iter()
        .flat_map(|(m, p)| {
            if p.ends_with("/{action}") {
                avtal::web::api::ACTION_FIELDS
                    .iter()
                    .map(|(a, _)| (m.clone(), p.replace("{action}", a)))
                    .collect()
            } else {
                vec![(m, p)]
            }
        })
        .collect();
    assert!(routed.len() >= 25, "the route table was read: {routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from src/web/openapi.rs ROUTES: {missing:?}"
    );
    let phantom: Vec<_> = documented.difference(&routed).collect();
    assert!(phantom.is_empty(), "documented but not routed: {phantom:?}");

    // Query parameters come from the query types.
    let params: Vec<String> = doc["paths"]["/agreements"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    for p in ["active_on", "social_objective", "reserved", "sort", "page"] {
        assert!(params.iter().any(|x| x == p), "{p} in {params:?}");
    }
    // Body schemas come from the request types, code lists as enums.
    let agreement = &doc["paths"]["/agreements"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["properties"];
    assert!(
        agreement["kind"]["enum"]
            .as_array()
            .is_some_and(|e| e.iter().any(|c| c == "iop")),
        "{}",
        agreement["kind"]
    );
    assert!(
        agreement["eforms"]["properties"]["bt_71"]["enum"]
            .as_array()
            .is_some_and(|e| e.iter().any(|c| c == "res-ws"))
    );
    assert_eq!(agreement["parties"]["type"], "array");
    assert_eq!(
        doc["paths"]["/agreements/{reference}"]["put"]["requestBody"]["content"]["application/json"]
            ["schema"]["required"],
        serde_json::json!(["version", "agreement"])
    );
    let export = &doc["paths"]["/export"]["get"]["parameters"];
    assert!(
        export
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "format"))
    );
}

/// The schema of the parameter `name` of `method path` in `doc`.
fn param(doc: &serde_json::Value, method: &str, path: &str, name: &str) -> serde_json::Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .map(|p| p["schema"].clone())
        .unwrap_or_else(|| panic!("no parameter {name} on {method} {path}"))
}

/// An action without a field it needs is refused naming that field, as the document says.
async fn each_action_refuses_a_body_without_the_fields_the_document_requires(app: TestApp) {
    app.load_examples().await;
    for (action, required) in avtal::web::api::ACTION_FIELDS {
        let Some(first) = required.first() else {
            continue;
        };
        let r = app
            .post(
                &format!("/api/v1/agreements/AGR-2025-0001/{action}"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, 400, "{action}: {}", r.body);
        assert_eq!(
            r.body["field"],
            serde_json::json!(first),
            "{action}: {}",
            r.body
        );
    }
}

async fn query_and_path_parameters_carry_their_real_types(app: TestApp) {
    let doc = app.get("/api/v1/openapi.json").await.body;
    // A filter that may be sent empty is `anyOf` its type and "".
    let typed = |schema: serde_json::Value| match schema["anyOf"].get(0) {
        Some(t) => t.clone(),
        None => schema,
    };
    let list = |name: &str| typed(param(&doc, "get", "/agreements", name));
    assert_eq!(list("page")["type"], "integer");
    assert_eq!(list("page")["minimum"], 1);
    assert_eq!(list("limit")["maximum"], 500);
    for date in ["active_on", "ends_before"] {
        assert_eq!(list(date)["format"], "date", "{date}");
    }
    let has = |schema: serde_json::Value, code: &str| {
        schema["enum"]
            .as_array()
            .is_some_and(|e| e.iter().any(|c| c == code))
    };
    assert!(has(list("kind"), "framework_agreement"));
    assert!(has(list("status"), "notice_given"));
    assert!(has(list("legal_basis"), "lou_4_18_1"));
    assert!(has(list("social_objective"), "opp"));
    assert!(has(list("reserved"), "idea_based"));
    assert!(has(list("sort"), "-end"));
    assert!(list("party")["pattern"].is_string());
    assert_eq!(
        param(&doc, "get", "/agreements", "kind")["anyOf"][1]["maxLength"],
        0,
        "an empty filter is not given"
    );
    assert!(has(param(&doc, "get", "/export", "format"), "ocds"));
    assert!(has(param(&doc, "get", "/outbox", "state"), "failed"));
    assert_eq!(
        typed(param(&doc, "get", "/audit", "from"))["format"],
        "date"
    );
    assert_eq!(param(&doc, "get", "/audit", "limit")["type"], "integer");
    assert_eq!(
        param(&doc, "get", "/agreements/{reference}/diff", "to")["format"],
        "date",
        "a required date is a date"
    );
    let diff = &doc["paths"]["/agreements/{reference}/diff"]["get"]["parameters"];
    assert!(
        diff.as_array().is_some_and(|ps| ps
            .iter()
            .all(|p| p["in"] == "path" || p["required"] == true)),
        "from and to are required: {diff}"
    );
    assert_eq!(
        param(&doc, "get", "/agreements/{reference}/as-of/{date}", "date")["format"],
        "date"
    );
    assert_eq!(
        param(&doc, "post", "/outbox/{id}/retry", "id")["type"],
        "integer"
    );
    // Each action is an operation with the body fields it needs.
    let action = |a: &str| {
        doc["paths"][format!("/agreements/{{reference}}/{a}")]["post"]["requestBody"].clone()
    };
    assert_eq!(
        action("exercise-option")["content"]["application/json"]["schema"]["required"],
        serde_json::json!(["seq"])
    );
    assert_eq!(
        action("reject-report")["content"]["application/json"]["schema"]["required"],
        serde_json::json!(["report", "period_end", "reason"])
    );
    assert_eq!(action("activate")["required"], false);
    let notice = &action("notice")["content"]["application/json"]["schema"]["properties"];
    assert_eq!(notice["received_on"]["format"], "date", "{notice}");
    assert!(notice["by"]["pattern"].is_string(), "{notice}");
    assert_eq!(notice["seq"]["minimum"], 0, "{notice}");
    // No query parameter is left untyped free text but the search text, the audit's names and
    // the names and roles of the people who signed.
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            for p in op["parameters"].as_array().cloned().unwrap_or_default() {
                let plain = typed(p["schema"].clone()) == serde_json::json!({"type": "string"})
                    || (p["schema"]["type"] == "string"
                        && p["schema"]["maxLength"] == 200
                        && p["schema"].get("enum").is_none()
                        && p["schema"]["pattern"] == "^[^\\u0000]*$");
                let name = p["name"].as_str().unwrap_or_default();
                assert!(
                    !plain
                        || [
                            "q",
                            "actor",
                            "action",
                            "signatories[0].name",
                            "signatories[0].role"
                        ]
                        .contains(&name),
                    "{method} {path}: {name} is untyped"
                );
            }
        }
    }
}

crate::on_both_backends!(
    the_openapi_document_lists_every_route_of_the_api_router,
    query_and_path_parameters_carry_their_real_types,
    each_action_refuses_a_body_without_the_fields_the_document_requires,
);
