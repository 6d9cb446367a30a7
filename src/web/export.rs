//! Export and OCDS handlers: streamed downloads of the filtered agreements, and the OCDS release
//! and record of one agreement.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::api::AgreementListQuery;
use super::auth::Acting;
use super::error::AppError;
use super::state::AppState;
use crate::domain::agreement::Reference;
use crate::domain::ocds::{self, PackageMeta, ReleaseMeta};
use crate::registry::export::{self, ExportOptions, Format, Sink};
use crate::registry::{AgreementFilter, StoreError};

/// Chunks buffered between the export task and the HTTP body (each up to about 64 KiB).
const CHANNEL_CHUNKS: usize = 4;

/// Parses a query string into `T`, naming the failing parameter.
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    super::extract::refuse_nul(query.as_bytes())?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        AppError::BadRequest {
            field: (path != ".").then_some(path),
            message: e.into_inner().to_string(),
        }
    })
}

/// Splits `format` off a query string; the rest are the list filters.
fn split_format(query: &str) -> (Option<String>, String) {
    let mut format = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k == "format" {
            format = Some(v.into_owned());
        } else {
            rest.append_pair(&k, &v);
        }
    }
    (format, rest.finish())
}

fn filters(query: &str) -> Result<AgreementFilter, AppError> {
    let q: AgreementListQuery = parse_query(query)?;
    if q.has_paging() {
        return Err(AppError::BadRequest {
            field: Some("page".into()),
            message: "an export holds every matching agreement: leave out sort, page and limit"
                .into(),
        });
    }
    q.to_filter()
}

fn package_uri(headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}{path}")
}

/// Streams an export: the task reads pages and sends chunks through a bounded channel, so a
/// slow client slows the export down instead of filling memory.
fn stream(state: &AppState, format: Format, filter: AgreementFilter, uri: String) -> Response {
    let (tx, mut rx) =
        tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(CHANNEL_CHUNKS);
    let registry = state.registry.clone();
    tokio::spawn(async move {
        let opts = ExportOptions::from_settings(&registry.settings, &uri);
        let result = async {
            let mut sink = Sink::Channel(tx.clone());
            registry
                .export(format, &filter, &opts, &mut sink, &mut |_| {})
                .await
        }
        .await;
        match result {
            Ok(n) => tracing::info!(agreements = n, ?format, "export streamed"),
            Err(export::ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                tracing::info!(?format, "export stopped: the client went away");
            }
            Err(e) => {
                // The status line is gone already: cut the body so the client sees an incomplete download.
                tracing::error!(error = %e, ?format, "export failed mid-stream");
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut resp = Body::from_stream(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", format.file_name()))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /api/v1/export?format=csv|json|yaml|ocds&<list filters>`: every matching agreement, streamed.
pub async fn export(
    Acting(state): Acting,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let (format, rest) = split_format(query.as_deref().unwrap_or_default());
    let format =
        Format::parse(format.as_deref().unwrap_or("csv")).map_err(|m| AppError::BadRequest {
            field: Some("format".into()),
            message: m,
        })?;
    let filter = filters(&rest)?;
    let uri = package_uri(&headers, "/api/v1/export?format=ocds");
    Ok(stream(&state, format, filter, uri))
}

/// `GET /api/v1/ocds/releases?<list filters>`: a release package of the matching agreements, streamed.
pub async fn ocds_releases(
    Acting(state): Acting,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let query = query.unwrap_or_default();
    let filter = filters(&query)?;
    let path = if query.is_empty() {
        "/api/v1/ocds/releases".to_owned()
    } else {
        format!("/api/v1/ocds/releases?{query}")
    };
    let uri = package_uri(&headers, &path);
    let mut resp = stream(&state, Format::Ocds, filter, uri);
    resp.headers_mut().remove(header::CONTENT_DISPOSITION);
    Ok(resp)
}

/// The current release of one agreement, its ocid, the options used and its reference.
async fn one_release(
    state: &AppState,
    key: &str,
) -> Result<(serde_json::Value, String, ExportOptions, Reference), AppError> {
    let key = Reference::parse(key).map_err(|e| AppError::BadRequest {
        field: Some("reference".into()),
        message: e.to_string(),
    })?;
    let stored = state.registry.agreement(&key).await?;
    let numbers: Vec<_> = stored.data.parties.iter().map(|p| p.org.clone()).collect();
    let organisations: HashMap<_, _> = state.registry.organisations_by_number(&numbers).await?;
    let opts = ExportOptions::from_settings(&state.registry.settings, "");
    let ctx = ocds::ReleaseContext {
        ocid_prefix: &opts.ocid_prefix,
        today: opts.today,
        ladders: &opts.ladders,
        organisations: &organisations,
    };
    let release = ocds::release(
        &stored.data,
        ReleaseMeta {
            version: stored.version,
            updated_at: stored.updated_at,
        },
        &ctx,
    );
    let ocid = ocds::ocid(&opts.ocid_prefix, &stored.data);
    Ok((release, ocid, opts, key))
}

/// `GET /api/v1/ocds/releases/{reference}`: a release package with the agreement's release.
pub async fn ocds_release(
    Acting(state): Acting,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (release, _, opts, _) = one_release(&state, &key).await?;
    let uri = package_uri(&headers, &format!("/api/v1/ocds/releases/{key}"));
    let mut package = ocds::package_head(&PackageMeta {
        uri: &uri,
        publisher: &opts.publisher,
        published: opts.published,
    });
    package.insert("releases".into(), serde_json::json!([release]));
    Ok(Json(serde_json::Value::Object(package)))
}

/// `GET /api/v1/ocds/records/{reference}`: a record package with the agreement's record: one
/// release per stored version, rebuilt from the audit log (states derived as of the day each
/// version was stored), and the current version as the compiled release.
pub async fn ocds_record(
    Acting(state): Acting,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (current, ocid, opts, reference) = one_release(&state, &key).await?;
    let entries = state
        .registry
        .audit_history("agreement", reference.as_str())
        .await?;
    let mut versions = Vec::new();
    for e in &entries {
        let Some(text) = e.after.as_deref() else {
            continue;
        };
        let a: crate::domain::agreement::Agreement =
            serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
                what: "audit entry",
                key: e.id.to_string(),
                source,
            })?;
        versions.push((e.at, a));
    }
    let numbers: Vec<_> = versions
        .iter()
        .flat_map(|(_, a)| a.parties.iter().map(|p| p.org.clone()))
        .collect();
    let organisations = state.registry.organisations_by_number(&numbers).await?;
    let mut releases: Vec<serde_json::Value> = versions
        .iter()
        .enumerate()
        .map(|(i, (at, a))| {
            let day = at.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
            let ctx = ocds::ReleaseContext {
                ocid_prefix: &opts.ocid_prefix,
                today: day,
                ladders: &opts.ladders,
                organisations: &organisations,
            };
            let meta = ReleaseMeta {
                version: i32::try_from(i + 1).unwrap_or(i32::MAX),
                updated_at: *at,
            };
            ocds::release(a, meta, &ctx)
        })
        .collect();
    // A registry loaded before the audit log existed has fewer entries than versions.
    if releases.last().map(|r| &r["id"]) != Some(&current["id"]) {
        releases.retain(|r| r["id"] != current["id"]);
        releases.push(current.clone());
    }
    let uri = package_uri(&headers, &format!("/api/v1/ocds/records/{key}"));
    let mut package = ocds::package_head(&PackageMeta {
        uri: &uri,
        publisher: &opts.publisher,
        published: opts.published,
    });
    let mut record = ocds::record(&ocid, releases);
    // The compiled release is the current state, derived as of today.
    let mut compiled = current;
    if let Some(obj) = compiled.as_object_mut() {
        obj.insert("id".into(), serde_json::json!(format!("{ocid}-compiled")));
        obj.insert("tag".into(), serde_json::json!(["compiled"]));
    }
    record["compiledRelease"] = compiled;
    package.insert("records".into(), serde_json::json!([record]));
    Ok(Json(serde_json::Value::Object(package)))
}
