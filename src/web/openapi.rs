//! The OpenAPI 3.1 document of the JSON API (`GET /api/v1/openapi.json`), built from the code.
//!
//! [`ROUTES`] lists every route of the `/api/v1` router once, next to the request types it takes;
//! query parameters and body schemas are read from those types' `Deserialize` impls (a probe
//! that notes what serde asks for), so a field added to a request type appears in the document. A test (`tests/api/openapi.rs`) checks that
//! every route of the route table in `web/mod.rs` is listed here and the other way round.

use axum::Json;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value, json};

use super::api::{
    ACTION_FIELDS, ActionBody, AgreementListQuery, MAX_LIMIT, MAX_PAGE, OutboxQuery, PageQuery,
};
use super::audit::{AuditQuery, DiffQuery};
use crate::documents::DocumentRequest;
use crate::domain::agreement::Agreement;
use crate::domain::codes::{AgreementKind, AgreementStatus, LegalBasis, SocialObjective};
use crate::domain::party::{Contact, Organisation};

/// The serde field names of a struct `T` (its query parameters or body properties).
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    match shape::<T>(&[]) {
        Some(Shape::Struct(fields)) => fields,
        _ => &[],
    }
}

/// A JSON Schema of `T` read from its `Deserialize` impl: objects with their fields, arrays,
/// strings (dates, references, organisation numbers), integers, numbers, booleans, and the codes
/// of each code list as an `enum`; `{}` where serde decides only at run time (an untagged enum).
pub fn schema_of<T: DeserializeOwned>() -> Value {
    build::<T>(&mut Vec::new(), &mut Vec::new(), &Evidence::default())
}

/// Like [`schema_of`], and each object lists its `required` fields, found from `samples`
/// (records of `T` as JSON): a field is required where leaving it out of a sample makes `T`
/// fail with "missing field". Every object also says `additionalProperties: false`, as the
/// records reject unknown fields.
pub fn schema_with_required<T: DeserializeOwned>(samples: &[Value]) -> Value {
    let evidence = Evidence {
        required: required_fields::<T>(samples),
        formats: string_formats(samples),
    };
    build::<T>(&mut Vec::new(), &mut Vec::new(), &evidence)
}

/// Required field names by schema path (`""` the root, `parties/[]` a list's items).
type Required = std::collections::HashMap<String, std::collections::BTreeSet<String>>;

/// What the samples show beyond the types: the required fields, and the form of the strings
/// that are dates, organisation numbers, e-mail addresses or amounts in every sample.
#[derive(Default)]
struct Evidence {
    required: Required,
    formats: std::collections::HashMap<String, Value>,
}

/// The form every sample value of a string field has, by schema path.
fn string_formats(samples: &[Value]) -> std::collections::HashMap<String, Value> {
    fn strings<'a>(v: &'a Value, at: &mut Vec<String>, out: &mut Vec<(String, &'a str)>) {
        match v {
            Value::String(s) => out.push((at.join("/"), s)),
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(k.clone());
                    strings(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for child in items {
                    at.push("[]".into());
                    strings(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let shape = |s: &str| -> Option<&'static str> {
        let b = s.as_bytes();
        if s.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && digits(&s[..4])
            && digits(&s[5..7])
            && digits(&s[8..])
        {
            Some("date")
        } else if s.len() == 11 && b[6] == b'-' && digits(&s[..6]) && digits(&s[7..]) {
            Some("org_number")
        } else if s.contains('@') && !s.contains(' ') {
            Some("email")
        } else if s
            .split_once('.')
            .is_some_and(|(k, o)| digits(k.trim_start_matches('-')) && o.len() == 2 && digits(o))
        {
            Some("amount")
        } else {
            None
        }
    };
    let mut seen: std::collections::HashMap<String, Option<&'static str>> =
        std::collections::HashMap::new();
    for sample in samples {
        let mut out = Vec::new();
        strings(sample, &mut Vec::new(), &mut out);
        for (at, s) in out {
            let here = shape(s);
            seen.entry(at)
                .and_modify(|k| {
                    if *k != here {
                        *k = None;
                    }
                })
                .or_insert(here);
        }
    }
    seen.into_iter()
        .filter_map(|(at, kind)| {
            let schema = match kind? {
                "date" => date_schema(),
                "org_number" => org_number_schema(),
                "email" => json!({ "type": "string", "format": "email" }),
                _ => json!({ "type": "string", "pattern": AMOUNT }),
            };
            Some((at, schema))
        })
        .collect()
}

fn required_fields<T: DeserializeOwned>(samples: &[Value]) -> Required {
    let mut out = Required::new();
    for sample in samples {
        let mut spots = Vec::new();
        objects_in(sample, &mut Vec::new(), &mut Vec::new(), &mut spots);
        for (pointer, at, keys) in spots {
            for k in keys {
                let mut without = sample.clone();
                let mut cur = &mut without;
                for seg in &pointer {
                    cur = match seg {
                        Seg::Key(key) => &mut cur[key.as_str()],
                        Seg::Index(i) => &mut cur[*i],
                    };
                }
                if let Some(obj) = cur.as_object_mut() {
                    obj.remove(&k);
                }
                if let Err(e) = serde_json::from_value::<T>(without)
                    && e.to_string().contains(&format!("missing field `{k}`"))
                {
                    out.entry(at.clone()).or_default().insert(k);
                }
            }
        }
    }
    out
}

/// A step into a JSON value.
enum Seg {
    Key(String),
    Index(usize),
}

/// Every object in `v`: where it is (the steps to it, its schema path) and its keys.
fn objects_in(
    v: &Value,
    pointer: &mut Vec<Seg>,
    at: &mut Vec<String>,
    out: &mut Vec<(Vec<Seg>, String, Vec<String>)>,
) {
    match v {
        Value::Object(m) => {
            let here = pointer
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => Seg::Key(k.clone()),
                    Seg::Index(i) => Seg::Index(*i),
                })
                .collect();
            out.push((here, at.join("/"), m.keys().cloned().collect()));
            for (k, child) in m {
                pointer.push(Seg::Key(k.clone()));
                at.push(k.clone());
                objects_in(child, pointer, at, out);
                at.pop();
                pointer.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointer.push(Seg::Index(i));
                at.push("[]".into());
                objects_in(child, pointer, at, out);
                at.pop();
                pointer.pop();
            }
        }
        _ => {}
    }
}

/// A free text at schema path `at` (`iop/goals/[]/text`): at most as many characters as the
/// registry keeps for that field (`domain::limits`), and no NUL character, which no store holds.
fn free_text_schema(at: &[String]) -> Value {
    let path = at.join(".").replace(".[]", "[]");
    json!({
        "type": "string",
        "maxLength": crate::domain::limits::max_chars(&path),
        "pattern": NO_NUL,
    })
}

/// An amount in kronor as the samples write it: at most 12 digits, at most 2 decimals.
const AMOUNT: &str = "^-?[0-9]{1,12}(\\.[0-9]{1,2})?$";

/// A text without the NUL character.
const NO_NUL: &str = "^[^\\u0000]*$";

fn build<T: DeserializeOwned>(path: &mut Vec<Step>, at: &mut Vec<String>, ev: &Evidence) -> Value {
    // Deep enough for every request type; a recursive type stops here.
    if path.len() > 8 {
        return json!({});
    }
    match shape::<T>(path) {
        Some(Shape::Struct(fields)) => {
            let mut props = Map::new();
            for (i, f) in fields.iter().enumerate() {
                path.push(Step::Field(i));
                at.push((*f).to_owned());
                props.insert((*f).to_owned(), build::<T>(path, at, ev));
                at.pop();
                path.pop();
            }
            let mut schema = json!({ "type": "object", "properties": props });
            if !ev.required.is_empty() {
                schema["additionalProperties"] = json!(false);
            }
            if let Some(required) = ev.required.get(&at.join("/")) {
                schema["required"] = json!(required);
            }
            schema
        }
        Some(Shape::Seq) => {
            path.push(Step::Items);
            at.push("[]".into());
            let items = build::<T>(path, at, ev);
            at.pop();
            path.pop();
            json!({ "type": "array", "items": items })
        }
        Some(Shape::Enum(codes)) => json!({ "type": "string", "enum": codes }),
        Some(Shape::Int(min, max)) => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Some(Shape::Leaf("string")) => ev
            .formats
            .get(&at.join("/"))
            .cloned()
            .unwrap_or_else(|| free_text_schema(at)),
        Some(Shape::Leaf(t)) => json!({ "type": t }),
        Some(Shape::Map) => json!({ "type": "object" }),
        // An amount (`*_sek`) is read from a string or a number.
        Some(Shape::Any) if at.last().is_some_and(|f| f.ends_with("_sek")) => json!({
            "anyOf": [
                { "type": "string", "pattern": AMOUNT },
                { "type": "number" },
            ],
        }),
        Some(Shape::Any) | None => json!({}),
    }
}

/// One step from a value to a part of it.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The struct field with this index.
    Field(usize),
    /// The elements of a sequence.
    Items,
}

/// What serde asked for at a point of a type.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Struct(&'static [&'static str]),
    Seq,
    Enum(&'static [&'static str]),
    /// An integer of a Rust type, with its range.
    Int(i64, u64),
    Leaf(&'static str),
    Map,
    Any,
}

/// Deserialises `T` from a probe that walks `path` and notes what serde asks for at its end.
fn shape<T: DeserializeOwned>(path: &[Step]) -> Option<Shape> {
    let out = std::cell::Cell::new(None);
    let _ = T::deserialize(Probe { path, out: &out });
    out.get()
}

struct Probe<'a> {
    path: &'a [Step],
    out: &'a std::cell::Cell<Option<Shape>>,
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

impl Probe<'_> {
    fn leaf<V>(self, shape: Shape) -> Result<V, Recorded> {
        if self.path.is_empty() {
            self.out.set(Some(shape));
        }
        Err(Recorded)
    }
}

macro_rules! leaves {
    ($($method:ident => $shape:expr),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
            self.leaf($shape)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Recorded;

    leaves! {
        deserialize_any => Shape::Any,
        deserialize_ignored_any => Shape::Any,
        deserialize_bool => Shape::Leaf("boolean"),
        deserialize_i8 => Shape::Int(i8::MIN as i64, i8::MAX as u64),
        deserialize_i16 => Shape::Int(i16::MIN as i64, i16::MAX as u64),
        deserialize_i32 => Shape::Int(i32::MIN as i64, i32::MAX as u64),
        deserialize_i64 => Shape::Int(i64::MIN, i64::MAX as u64),
        deserialize_i128 => Shape::Int(i64::MIN, i64::MAX as u64),
        deserialize_u8 => Shape::Int(0, u8::MAX as u64),
        deserialize_u16 => Shape::Int(0, u16::MAX as u64),
        deserialize_u32 => Shape::Int(0, u32::MAX as u64),
        deserialize_u64 => Shape::Int(0, u64::MAX),
        deserialize_u128 => Shape::Int(0, u64::MAX),
        deserialize_f32 => Shape::Leaf("number"),
        deserialize_f64 => Shape::Leaf("number"),
        deserialize_char => Shape::Leaf("string"),
        deserialize_str => Shape::Leaf("string"),
        deserialize_string => Shape::Leaf("string"),
        deserialize_bytes => Shape::Leaf("string"),
        deserialize_byte_buf => Shape::Leaf("string"),
        deserialize_identifier => Shape::Leaf("string"),
        deserialize_unit => Shape::Leaf("null"),
        deserialize_map => Shape::Map,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Recorded> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Recorded> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _: V,
    ) -> Result<V::Value, Recorded> {
        self.leaf(Shape::Leaf("null"))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Recorded> {
        match self.path.split_first() {
            None => self.leaf(Shape::Seq),
            Some((Step::Items, rest)) => visitor.visit_seq(OneItem(Some(Probe {
                path: rest,
                out: self.out,
            }))),
            Some(_) => Err(Recorded),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Recorded> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Recorded> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Recorded> {
        match self.path.split_first() {
            None => self.leaf(Shape::Struct(fields)),
            Some((Step::Field(i), rest)) => {
                let key = fields.get(*i).copied().ok_or(Recorded)?;
                visitor.visit_map(OneField {
                    key: Some(key),
                    value: Some(Probe {
                        path: rest,
                        out: self.out,
                    }),
                })
            }
            Some(_) => Err(Recorded),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Recorded> {
        self.leaf(Shape::Enum(variants))
    }
}

/// A map with one key, whose value is probed further.
struct OneField<'a> {
    key: Option<&'static str>,
    value: Option<Probe<'a>>,
}

impl<'de> de::MapAccess<'de> for OneField<'_> {
    type Error = Recorded;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Recorded> {
        match self.key.take() {
            Some(k) => seed
                .deserialize(de::value::StrDeserializer::<Recorded>::new(k))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Recorded> {
        match self.value.take() {
            Some(p) => seed.deserialize(p),
            None => Err(Recorded),
        }
    }
}

/// A sequence with one element, which is probed further.
struct OneItem<'a>(Option<Probe<'a>>);

impl<'de> de::SeqAccess<'de> for OneItem<'_> {
    type Error = Recorded;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Recorded> {
        match self.0.take() {
            Some(p) => seed.deserialize(p).map(Some),
            None => Ok(None),
        }
    }
}

/// The query parameters of a query type: every name, and the ones it cannot do without.
#[derive(Debug)]
pub struct QueryFields {
    /// Every parameter.
    pub names: &'static [&'static str],
    /// The parameters the type requires (found by deserialising it without them).
    pub required: Vec<&'static str>,
}

/// The query parameters of `T`; a parameter is required where `T` fails without it.
pub fn query_fields<T: DeserializeOwned>() -> QueryFields {
    let names = field_names::<T>();
    let mut given = Map::new();
    let mut required = Vec::new();
    for _ in 0..names.len() {
        let Err(e) = serde_json::from_value::<T>(Value::Object(given.clone())) else {
            break;
        };
        let Some(name) = names
            .iter()
            .find(|n| e.to_string().contains(&format!("missing field `{n}`")))
        else {
            break;
        };
        required.push(*name);
        given.insert((*name).to_owned(), json!(""));
    }
    QueryFields { names, required }
}

/// Where a route's input comes from.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    /// Nothing besides the path.
    None,
    /// Query parameters: the fields of a query struct, with extra ones and without omitted ones.
    Query(
        fn() -> QueryFields,
        &'static [&'static str],
        &'static [&'static str],
    ),
    /// A JSON body of a type (its schema).
    Body(fn() -> Value),
    /// A versioned JSON body `{"version": N, "<record>": {...}}`.
    Versioned(&'static str, fn() -> Value),
    /// The actions of `/agreements/{reference}/{action}`: one operation per action (its path
    /// with the action's name), each a JSON body of `ActionBody` with the action's own required
    /// fields ([`super::api::ACTION_FIELDS`]).
    Actions,
    /// A `multipart/form-data` body with these file fields and these optional text fields.
    Multipart(&'static [&'static str], &'static [&'static str]),
    /// A file of this media type, either as the `file` field of a `multipart/form-data` body with
    /// these text fields, or as the raw body with the text fields in the query string.
    FileOrForm(&'static str, &'static [&'static str]),
    /// Figures as the documented CSV (`text/csv`, with `confirmed` in the query) or as JSON of a
    /// type (its schema).
    CsvOrJson(fn() -> Value),
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
    /// The success content types, comma-separated.
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

/// The sample registry as JSON records, the evidence for the body schemas' `required` lists.
fn sample_records() -> &'static (Vec<Value>, Vec<Value>, Vec<Value>) {
    static RECORDS: std::sync::OnceLock<(Vec<Value>, Vec<Value>, Vec<Value>)> =
        std::sync::OnceLock::new();
    RECORDS.get_or_init(|| {
        let files = crate::format::example_files().unwrap_or_default();
        fn json<T: serde::Serialize>(v: &T) -> Value {
            serde_json::to_value(v).unwrap_or_default()
        }
        let mut orgs = Vec::new();
        let mut contacts = Vec::new();
        let mut agreements = Vec::new();
        for (_, f) in &files {
            orgs.extend(f.organisations.iter().map(json));
            contacts.extend(f.contacts.iter().map(json));
            agreements.extend(f.agreements.iter().map(json));
        }
        (orgs, contacts, agreements)
    })
}

fn organisation_schema() -> Value {
    schema_with_required::<Organisation>(&sample_records().0)
}

fn contact_schema() -> Value {
    schema_with_required::<Contact>(&sample_records().1)
}

/// A document request: the template is one of the built-in templates, a report is its kind
/// code, optionally with `@` and the day its period ends.
fn document_request_schema() -> Value {
    let mut schema = schema_with_required::<DocumentRequest>(&[json!({"template": "iop"})]);
    let names: Vec<String> = crate::documents::manifest::Catalog::builtin_or_log()
        .all()
        .iter()
        .map(|t| t.manifest.name.clone())
        .collect();
    schema["properties"]["template"] = json!({ "type": "string", "enum": names });
    schema["properties"]["report"] = json!({
        "type": "string",
        "pattern": "^[a-z0-9_]{1,60}(@[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?$",
    });
    schema
}

fn sending_schema() -> Value {
    schema_with_required::<super::signed_copies::SendingBody>(&[
        json!({"sent_on": "2026-11-20", "method": "email", "sent_to": "a@b.example"}),
    ])
}

fn agreement_schema() -> Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| schema_with_required::<Agreement>(&sample_records().2))
        .clone()
}

const LIST_FILTERS: fn() -> QueryFields = query_fields::<AgreementListQuery>;
/// List parameters an export refuses.
const NOT_FOR_EXPORTS: &[&str] = &["sort", "page", "limit"];

/// Every operation under `/api/v1`.
pub const ROUTES: &[Route] = &[
    route(
        "get",
        "/organisations",
        "Organisations by number, paged",
        Input::Query(query_fields::<PageQuery>, &[], &["organisation"]),
    ),
    created(
        "/organisations",
        "Register an organisation",
        Input::Body(organisation_schema),
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
        Input::Versioned("organisation", organisation_schema),
    ),
    route(
        "get",
        "/contacts",
        "Contacts by e-mail address, paged, optionally of one organisation",
        Input::Query(query_fields::<PageQuery>, &[], &[]),
    ),
    created(
        "/contacts",
        "Register a contact",
        Input::Body(contact_schema),
    ),
    route("get", "/contacts/{email}", "One contact", Input::None),
    route(
        "put",
        "/contacts/{email}",
        "Replace a contact at the version read",
        Input::Versioned("contact", contact_schema),
    ),
    route(
        "get",
        "/agreements",
        "Filtered, sorted, paged agreement list",
        Input::Query(LIST_FILTERS, &[], &[]),
    ),
    created(
        "/agreements",
        "Register an agreement",
        Input::Body(agreement_schema),
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
        Input::Versioned("agreement", agreement_schema),
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
        Input::Body(document_request_schema),
    ),
    Route {
        content_type: "application/pdf",
        ..route(
            "get",
            "/agreements/{reference}/documents/{id}/signed",
            "Download the signed copy of a generated document",
            Input::None,
        )
    },
    created(
        "/agreements/{reference}/documents/{id}/signed",
        "Record the signed copy (a PDF, scanned or e-signed) of a generated document: the signing date (default today; not in the future, not before the document was made) and the signatories (signatories[N].name, .role, .party from N = 0); stored with its SHA-256 and audited; the contract's copy sets the agreement's signed_on",
        Input::FileOrForm(
            "application/pdf",
            &[
                "signed_on",
                "signatories[0].name",
                "signatories[0].role",
                "signatories[0].party",
            ],
        ),
    ),
    created(
        "/agreements/{reference}/documents/{id}/sent",
        "Record that a generated document was sent for signature: the day (sent_on, default today; not in the future, not before the document was made), how (method) and to whom (sent_to); audited; refused once the document's signed copy is on record",
        Input::Body(sending_schema),
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
        Input::Query(query_fields::<DiffQuery>, &[], &[]),
    ),
    route(
        "get",
        "/audit",
        "Audit log entries, newest first",
        Input::Query(query_fields::<AuditQuery>, &[], &[]),
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
        "An action on the agreement",
        Input::Actions,
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
        Input::Query(query_fields::<OutboxQuery>, &[], &[]),
    ),
    route(
        "post",
        "/outbox/retry",
        "Queue every failed e-mail again (an officer's: its organisation's); audited",
        Input::None,
    ),
    route(
        "post",
        "/outbox/{id}/retry",
        "Queue one failed e-mail again; audited",
        Input::None,
    ),
    Route {
        content_type: "text/csv,application/json,application/yaml",
        ..route(
            "get",
            "/export",
            "Every agreement matching the list filters, streamed as csv (default), json, yaml or ocds",
            Input::Query(LIST_FILTERS, &["format"], NOT_FOR_EXPORTS),
        )
    },
    route(
        "get",
        "/ocds/releases",
        "An OCDS 1.1 release package of the agreements matching the list filters, streamed",
        Input::Query(LIST_FILTERS, &[], NOT_FOR_EXPORTS),
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
    created(
        "/contacts/{email}/calendar-feed",
        "Make the contact's calendar feed (its URL is shown this once); revokes an earlier one",
        Input::None,
    ),
    Route {
        status: 204,
        ..route(
            "delete",
            "/contacts/{email}/calendar-feed",
            "Revoke the contact's calendar feed",
            Input::None,
        )
    },
    route(
        "get",
        "/agreements/{reference}/report-files",
        "The report files handed in for an agreement, with their SHA-256",
        Input::None,
    ),
    Route {
        content_type: "application/octet-stream",
        ..route(
            "get",
            "/agreements/{reference}/reports/{report}/{period_end}/file",
            "Download the file handed in for one report occurrence",
            Input::None,
        )
    },
    created(
        "/agreements/{reference}/reports/{report}/{period_end}/file",
        "Hand in a report file (PDF, ODT or DOCX) for one occurrence on the enterprise's behalf, with its figures as the CSV template (figures_csv) when the report carries indicators",
        Input::Multipart(&["file"], &["figures_csv", "confirmed"]),
    ),
    Route {
        content_type: "text/csv",
        ..route(
            "get",
            "/agreements/{reference}/reports/{report}/{period_end}/figures",
            "The CSV template of one report occurrence's figures, filled with those handed in",
            Input::None,
        )
    },
    route(
        "post",
        "/agreements/{reference}/reports/{report}/{period_end}/figures",
        "Hand in (open occurrence) or correct (handed in, by its officer) one occurrence's figures, as the CSV template or JSON",
        Input::CsvOrJson(figures_body_schema),
    ),
    route("get", "/openapi.json", "This document", Input::None),
];

/// The JSON body of the figures of one occurrence, typed from a sample body.
fn figures_body_schema() -> Value {
    let sample = json!({
        "figures": [{"indicator": "participants", "total": 6, "women": 3, "men": 3, "other": 0}],
        "confirmed": true,
    });
    schema_with_required::<super::report_figures::FiguresBody>(&[sample])
}

/// The codes of a code list as an `enum` schema.
fn codes<T: Copy + std::fmt::Display>(all: &[T]) -> Value {
    let codes: Vec<String> = all.iter().map(ToString::to_string).collect();
    json!({ "type": "string", "enum": codes })
}

/// An organisation number as the API reads one: `NNNNNN-NNNN` or ten digits, third digit 2 or
/// more; the last digit is a Luhn check digit, which a pattern cannot say.
fn org_number_schema() -> Value {
    json!({ "type": "string", "pattern": "^[0-9]{2}[2-9][0-9]{3}-?[0-9]{4}$",
            "description": "NNNNNN-NNNN; the last digit is the Luhn check digit over the other nine" })
}

/// An agreement reference: 3 to 40 letters, digits and hyphens, not starting with a hyphen.
fn reference_schema() -> Value {
    json!({ "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{2,39}$" })
}

fn date_schema() -> Value {
    json!({ "type": "string", "format": "date" })
}

/// Filters whose empty value means "not given" (as an HTML form sends them).
const EMPTY_IS_ABSENT: &[&str] = &[
    "active_on",
    "kind",
    "status",
    "legal_basis",
    "social_objective",
    "reserved",
    "party",
    "ends_before",
    "agreement",
    "action",
    "from",
    "to",
];

/// The schema of an optional query parameter, by its name: the type the handler parses it into
/// (dates, integers in their range, the codes of a code list), so a client or a fuzzer sends what
/// the API reads; a filter the API takes as not given when empty also allows `""`. A name not
/// listed here is free text.
pub fn query_param_schema(name: &str) -> Value {
    let typed = required_query_param_schema(name);
    if EMPTY_IS_ABSENT.contains(&name) {
        json!({ "anyOf": [typed, { "type": "string", "maxLength": 0 }] })
    } else {
        typed
    }
}

/// The schema of a query parameter that must be given, by its name.
pub fn required_query_param_schema(name: &str) -> Value {
    match name {
        "page" => json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE }),
        "limit" => json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT }),
        "active_on" | "ends_before" | "from" | "to" | "signed_on" => date_schema(),
        "kind" => codes(AgreementKind::ALL),
        "status" => codes(AgreementStatus::ALL),
        "legal_basis" => codes(LegalBasis::ALL),
        "social_objective" => codes(SocialObjective::ALL),
        "reserved" => json!({ "type": "string", "enum": [
            "true", "false", "yes", "no", "any", "none", "participation", "execution", "idea_based"] }),
        "party" | "organisation" | "signatories[0].party" => org_number_schema(),
        "agreement" => reference_schema(),
        "action" => json!({ "type": "string", "enum":
            crate::domain::audit::Action::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>() }),
        "sort" => json!({ "type": "string", "enum": [
            "reference", "title", "start", "end", "value", "relevance",
            "-reference", "-title", "-start", "-end", "-value", "-relevance"] }),
        "format" => json!({ "type": "string", "enum": ["csv", "json", "yaml", "ocds"] }),
        "state" => json!({ "type": "string", "enum": ["pending", "sending", "sent", "failed"] }),
        _ => json!({ "type": "string", "maxLength": 200, "pattern": NO_NUL }),
    }
}

/// The schema of a path parameter, by its name.
pub fn path_param_schema(name: &str) -> Value {
    match name {
        "reference" => reference_schema(),
        "org_number" => org_number_schema(),
        "email" => json!({ "type": "string", "format": "email" }),
        "date" | "period_end" => date_schema(),
        "id" => json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX }),
        "report" => json!({ "type": "string", "pattern": "^[a-z0-9_]{1,60}$" }),
        _ => json!({ "type": "string" }),
    }
}

fn operation(r: &Route) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .into_iter()
        .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": path_param_schema(p) }))
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
        Input::Query(fields, extra, omit) => {
            let fields = fields();
            for f in extra
                .iter()
                .chain(fields.names.iter())
                .filter(|f| !omit.contains(f))
            {
                let required = fields.required.contains(f);
                let schema = if required {
                    required_query_param_schema(f)
                } else {
                    query_param_schema(f)
                };
                params.push(
                    json!({ "name": f, "in": "query", "required": required, "schema": schema }),
                );
            }
        }
        Input::Body(schema) => {
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { JSON: { "schema": schema() } } }),
            );
        }
        Input::Actions => {}
        Input::Multipart(files, texts) => {
            let mut properties = Map::new();
            for f in files {
                properties.insert(
                    (*f).to_owned(),
                    json!({ "type": "string", "format": "binary", "minLength": 1 }),
                );
            }
            for t in texts {
                properties.insert((*t).to_owned(), json!({ "type": "string" }));
            }
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "multipart/form-data": { "schema": {
                    "type": "object", "required": files, "properties": properties,
                    "additionalProperties": false,
                } } } }),
            );
        }
        Input::FileOrForm(media_type, fields) => {
            let mut properties = Map::new();
            properties.insert(
                "file".into(),
                json!({ "type": "string", "format": "binary", "minLength": 1 }),
            );
            for f in fields {
                properties.insert((*f).to_owned(), json!({ "type": "string" }));
                params.push(json!({ "name": f, "in": "query", "required": false, "schema": query_param_schema(f) }));
            }
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": {
                    "multipart/form-data": { "schema": {
                        "type": "object", "required": ["file"], "properties": properties,
                        "additionalProperties": false,
                    } },
                    media_type: { "schema": { "type": "string", "format": "binary", "minLength": 1 } },
                } }),
            );
        }
        Input::CsvOrJson(schema) => {
            params.push(
                json!({ "name": "confirmed", "in": "query", "required": false,
                                "schema": { "type": "boolean" } }),
            );
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": {
                    "text/csv": { "schema": { "type": "string", "minLength": 1 } },
                    JSON: { "schema": schema() },
                } }),
            );
        }
        Input::Versioned(name, schema) => {
            let schema = json!({
                "type": "object",
                "required": ["version", name],
                "properties": {
                    "version": { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX },
                    name: schema(),
                },
                "additionalProperties": false,
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
    // A route may answer in several types (the export: csv, json or yaml), comma-separated.
    let success: Map<String, Value> = r
        .content_type
        .split(',')
        .map(|t| (t.to_owned(), json!({})))
        .collect();
    op.insert(
        "responses".into(),
        json!({
            r.status.to_string(): { "description": "Success", "content": success },
            "400": error.clone(), "404": error.clone(), "409": error.clone(), "413": error.clone(), "422": error,
        }),
    );
    Value::Object(op)
}

/// The operation of one action: its body is `ActionBody` with the action's required fields.
fn action_operation(path: &str, action: &str, required: &[&str]) -> Value {
    let mut body = action_body_schema();
    if required.is_empty() {
        body.as_object_mut().map(|o| o.remove("required"));
    } else {
        body["required"] = json!(required);
    }
    let mut op = operation(&Route {
        method: "post",
        path: "/agreements/{reference}/{action}",
        summary: "",
        input: Input::Body(action_body_schema),
        status: 200,
        content_type: JSON,
    });
    op["summary"] = json!(format!("The action {action} on the agreement"));
    op["operationId"] = json!(format!(
        "post{}",
        path.replace(['/', '{', '}', '-', '.'], "_")
            .trim_end_matches('_')
    ));
    op["requestBody"] = json!({
        // An action without required fields may be sent without a body.
        "required": !required.is_empty(),
        "content": { JSON: { "schema": body } },
    });
    if let Some(params) = op["parameters"].as_array_mut() {
        params.retain(|p| p["name"] != "action");
    }
    op
}

/// The body of an action: every field an action may take, typed from a sample body (its dates,
/// organisation number and amendment as the samples write them).
fn action_body_schema() -> Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut sample = json!({
                "version": 1, "seq": 1, "decided_on": "2026-11-20", "rationale": "Skäl",
                "by": "212900-0028", "received_on": "2026-11-20", "reason": "Skäl",
                "under": "termination", "to": "active", "report": "annual_report",
                "period_end": "2026-12-31", "submitted_on": "2026-11-20",
                "figures": [{"indicator": "participants", "total": 6, "women": 3, "men": 3,
                             "other": 0}],
                "confirmed": true,
            });
            if let Some(am) = sample_records()
                .2
                .iter()
                .find_map(|a| a["amendments"].get(0).cloned())
            {
                sample["amendment"] = am;
            }
            schema_with_required::<ActionBody>(&[sample])
        })
        .clone()
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
        if matches!(r.input, Input::Actions) {
            for (action, required) in ACTION_FIELDS {
                let path = r.path.replace("{action}", action);
                paths.insert(
                    path.clone(),
                    json!({ r.method: action_operation(&path, action, required) }),
                );
            }
            continue;
        }
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
