//! The OpenAPI 3.1 document of the JSON API (`GET /api/v1/openapi.json`), built from the code.
//!
//! [`ROUTES`] lists every route of the `/api/v1` router once, next to the request types it takes;
//! query parameters and body properties are read from those types' serde field lists, so a field
//! added to a query struct appears in the document. A test (`tests/api/openapi.rs`) checks that
//! every route of the route table in `web/mod.rs` is listed here and the other way round.

use axum::Json;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value, json};

use super::api::{ActionBody, AgreementListQuery, OutboxQuery, PageQuery};
use super::audit::{AuditQuery, DiffQuery};
use crate::documents::DocumentRequest;
use crate::domain::agreement::Agreement;
use crate::domain::party::{Contact, Organisation};

/// The serde field names of a struct `T`, read by deserialising it from a recorder that only
/// notes the names serde asks for.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut rec = FieldRecorder { fields: &[] };
    let _ = T::deserialize(&mut rec);
    rec.fields
}

struct FieldRecorder {
    fields: &'static [&'static str],
}

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldRecorder {
    type Error = Recorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Recorded> {
        self.fields = fields;
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Where a route's input comes from.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    /// Nothing besides the path.
    None,
    /// Query parameters: the fields of a query struct (and any listed extra ones).
    Query(fn() -> &'static [&'static str], &'static [&'static str]),
    /// A JSON body with the fields of a type.
    Body(fn() -> &'static [&'static str]),
    /// A versioned JSON body `{"version": N, "<record>": {...}}`.
    Versioned(&'static str, fn() -> &'static [&'static str]),
}

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `get`, `post`, `put`, `delete`.
    pub method: &'static str,
    /// The path under `/api/v1`, with `{param}` as in the route table.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Its input.
    pub input: Input,
    /// The success status.
    pub status: u16,
    /// The success content type.
    pub content_type: &'static str,
}

const JSON: &str = "application/json";

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    input: Input,
) -> Route {
    Route {
        method,
        path,
        summary,
        input,
        status: 200,
        content_type: JSON,
    }
}

const fn created(path: &'static str, summary: &'static str, input: Input) -> Route {
    Route {
        method: "post",
        path,
        summary,
        input,
        status: 201,
        content_type: JSON,
    }
}

const LIST_FILTERS: fn() -> &'static [&'static str] = field_names::<AgreementListQuery>;

/// Every operation under `/api/v1`.
pub const ROUTES: &[Route] = &[
    route(
        "get",
        "/organisations",
        "Organisations by number, paged",
        Input::Query(field_names::<PageQuery>, &[]),
    ),
    created(
        "/organisations",
        "Register an organisation",
        Input::Body(field_names::<Organisation>),
    ),
    route(
        "get",
        "/organisations/{org_number}",
        "One organisation",
        Input::None,
    ),
    route(
        "put",
        "/organisations/{org_number}",
        "Replace an organisation at the version read",
        Input::Versioned("organisation", field_names::<Organisation>),
    ),
    route(
        "get",
        "/contacts",
        "Contacts by e-mail address, paged, optionally of one organisation",
        Input::Query(field_names::<PageQuery>, &[]),
    ),
    created(
        "/contacts",
        "Register a contact",
        Input::Body(field_names::<Contact>),
    ),
    route("get", "/contacts/{email}", "One contact", Input::None),
    route(
        "put",
        "/contacts/{email}",
        "Replace a contact at the version read",
        Input::Versioned("contact", field_names::<Contact>),
    ),
    route(
        "get",
        "/agreements",
        "Filtered, sorted, paged agreement list",
        Input::Query(LIST_FILTERS, &[]),
    ),
    created(
        "/agreements",
        "Register an agreement",
        Input::Body(field_names::<Agreement>),
    ),
    route(
        "get",
        "/agreements/{reference}",
        "One agreement with its derived dates and deadlines",
        Input::None,
    ),
    route(
        "put",
        "/agreements/{reference}",
        "Replace an agreement at the version read",
        Input::Versioned("agreement", field_names::<Agreement>),
    ),
    route(
        "get",
        "/agreements/{reference}/documents",
        "The agreement's generated documents",
        Input::None,
    ),
    created(
        "/agreements/{reference}/documents",
        "Render and store a contract document",
        Input::Body(field_names::<DocumentRequest>),
    ),
    route(
        "get",
        "/agreements/{reference}/as-of/{date}",
        "The agreement as it stood at the end of a day, from the audit log",
        Input::None,
    ),
    route(
        "get",
        "/agreements/{reference}/diff",
        "Fields that differ between two days",
        Input::Query(field_names::<DiffQuery>, &[]),
    ),
    route(
        "get",
        "/audit",
        "Audit log entries, newest first",
        Input::Query(field_names::<AuditQuery>, &[]),
    ),
    route(
        "get",
        "/audit/verify",
        "Verify the audit log's hash chain",
        Input::None,
    ),
    route(
        "post",
        "/agreements/{reference}/{action}",
        "An action: activate, transition, exercise-option, decline-option, notice, amendments, cancel",
        Input::Body(field_names::<ActionBody>),
    ),
    Route {
        content_type: "application/pdf",
        ..route(
            "get",
            "/documents/{id}",
            "Download a stored document",
            Input::None,
        )
    },
    route("get", "/templates", "The document templates", Input::None),
    route(
        "get",
        "/outbox",
        "Queued reminder e-mails, newest first",
        Input::Query(field_names::<OutboxQuery>, &[]),
    ),
    Route {
        content_type: "text/csv",
        ..route(
            "get",
            "/export",
            "Every agreement matching the list filters, streamed as csv (default), json, yaml or ocds",
            Input::Query(LIST_FILTERS, &["format"]),
        )
    },
    route(
        "get",
        "/ocds/releases",
        "An OCDS 1.1 release package of the agreements matching the list filters, streamed",
        Input::Query(LIST_FILTERS, &[]),
    ),
    route(
        "get",
        "/ocds/releases/{reference}",
        "An OCDS release package with one agreement's release",
        Input::None,
    ),
    route(
        "get",
        "/ocds/records/{reference}",
        "An OCDS record package with one agreement's record",
        Input::None,
    ),
    route("get", "/openapi.json", "This document", Input::None),
];

fn properties(fields: &[&str]) -> Value {
    let props: Map<String, Value> = fields
        .iter()
        .map(|f| ((*f).to_owned(), json!({})))
        .collect();
    json!({ "type": "object", "properties": props })
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .into_iter()
        .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let mut op = Map::new();
    op.insert("summary".into(), json!(r.summary));
    op.insert(
        "operationId".into(),
        json!(format!(
            "{}{}",
            r.method,
            r.path
                .replace(['/', '{', '}', '-', '.'], "_")
                .trim_end_matches('_')
        )),
    );
    match r.input {
        Input::None => {}
        Input::Query(fields, extra) => {
            for f in extra.iter().chain(fields().iter()) {
                params.push(json!({ "name": f, "in": "query", "required": false, "schema": { "type": "string" } }));
            }
        }
        Input::Body(fields) => {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { JSON: { "schema": properties(fields()) } } }),
            );
        }
        Input::Versioned(name, fields) => {
            let schema = json!({
                "type": "object",
                "required": ["version", name],
                "properties": { "version": { "type": "integer" }, name: properties(fields()) },
            });
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { JSON: { "schema": schema } } }),
            );
        }
    }
    if !params.is_empty() {
        op.insert("parameters".into(), json!(params));
    }
    let error = json!({ "description": "Error", "content": { JSON: { "schema": { "$ref": "#/components/schemas/Error" } } } });
    op.insert(
        "responses".into(),
        json!({
            r.status.to_string(): { "description": "Success", "content": { r.content_type: {} } },
            "400": error.clone(), "404": error.clone(), "409": error.clone(), "413": error.clone(), "422": error,
        }),
    );
    Value::Object(op)
}

fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(r.method.to_owned(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "avtal JSON API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Registry of procurement contracts with social clauses and IOP agreements. Field shapes: docs/format.md.",
        },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": { "schemas": { "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": { "type": "string" },
                "field": { "type": "string" },
                "value": { "type": "string" },
                "rule": { "type": "string" },
                "message": { "type": "string" },
                "errors": { "type": "array", "items": { "type": "object" } },
            },
        } } },
    })
}

/// `GET /api/v1/openapi.json`
pub async fn openapi() -> Json<Value> {
    Json(document())
}
