//! The signature of a generated document at the edge: an officer records that it was sent for
//! signature (a JSON body) and uploads the signed PDF (the API takes a multipart form or a raw
//! `application/pdf` body; the agreement page's forms are `forms::signed`, reading the input
//! here), and anyone who reads the agreement downloads it. Parsing only; the checks and the
//! storage are `Registry::record_sent_for_signature` and `Registry::record_signed_copy`.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::Acting;
use super::error::AppError;
use super::extract::ApiJson;
use crate::domain::agreement::Reference;
use crate::domain::codes::SendMethod;
use crate::domain::dates::parse_iso_date;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::Violation;
use crate::domain::signing::{MAX_SIGNATORIES, Signatory};
use crate::registry::signed::{Sending, SignedUpload};
use crate::registry::{SignatureRequestMeta, SignedCopyMeta};

/// A signed copy with where to download it.
#[derive(Debug, Clone, Serialize)]
pub struct SignedCopyItem {
    #[serde(flatten)]
    meta: SignedCopyMeta,
    download: String,
}

/// The API's download path of the signed copy of document `id` of agreement `reference`.
pub fn signed_download(reference: &str, id: i64) -> String {
    format!("/api/v1/agreements/{reference}/documents/{id}/signed")
}

/// The signed copy as the API shows it.
pub fn item(meta: SignedCopyMeta) -> SignedCopyItem {
    SignedCopyItem {
        download: signed_download(&meta.agreement_reference, meta.document_id),
        meta,
    }
}

/// Why an upload could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file is over `upload_max_bytes`.
    TooLarge,
    /// Fields that do not parse (a date, an organisation number, an unknown field).
    Invalid(Vec<Violation>),
}

/// Longest text field read from a form, in bytes (a name or a role is at most 200 characters).
const MAX_FIELD_BYTES: usize = 4096;

/// Reads an upload: a multipart form (field `file`, text fields `signed_on` and
/// `signatories[N].name`, `.role`, `.party`) or any other body as the file itself, with the text
/// fields in the query string.
pub async fn read_upload(req: Request, max: usize) -> Result<SignedUpload, ReadError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut upload = SignedUpload::default();
    if multipart {
        let broken = || {
            ReadError::Invalid(vec![Violation::new(
                "file",
                "",
                "required",
                "send a multipart/form-data body with the signed PDF in the field file",
            )])
        };
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|_| broken())?;
        let too_large_or_broken = |e: axum::extract::multipart::MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ReadError::TooLarge
            } else {
                broken()
            }
        };
        while let Some(mut field) = form.next_field().await.map_err(too_large_or_broken)? {
            let name = field.name().unwrap_or_default().to_owned();
            let is_file = name == "file";
            if is_file {
                upload.original_name = field
                    .file_name()
                    .filter(|n| !n.is_empty())
                    .map(|n| n.chars().filter(|c| !c.is_control()).take(255).collect());
            }
            let limit = if is_file { max } else { MAX_FIELD_BYTES };
            let mut bytes = Vec::new();
            let mut over = false;
            while let Some(chunk) = field.chunk().await.map_err(too_large_or_broken)? {
                if over || bytes.len() + chunk.len() > limit {
                    over = true;
                    bytes.clear();
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            if is_file {
                if over {
                    return Err(ReadError::TooLarge);
                }
                upload.bytes = bytes;
            } else if over {
                return Err(ReadError::Invalid(vec![Violation::new(
                    name,
                    "",
                    "max_length",
                    format!("a text field holds at most {MAX_FIELD_BYTES} bytes"),
                )]));
            } else {
                fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    } else {
        fields = form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        upload.bytes = match axum::body::to_bytes(req.into_body(), max.saturating_add(1)).await {
            Ok(b) if b.len() > max => return Err(ReadError::TooLarge),
            Ok(b) => b.to_vec(),
            Err(_) => return Err(ReadError::TooLarge),
        };
    }
    let (signed_on, signatories) = signature_fields(&fields).map_err(ReadError::Invalid)?;
    upload.signed_on = signed_on;
    upload.signatories = signatories;
    Ok(upload)
}

/// The signing date and the signatories of the text fields; blank signatory rows (the form's
/// spare ones) are left out. Every field that does not parse is named.
fn signature_fields(
    fields: &[(String, String)],
) -> Result<(Option<chrono::NaiveDate>, Vec<Signatory>), Vec<Violation>> {
    let mut problems = Vec::new();
    let mut signed_on = None;
    let mut rows: BTreeMap<usize, [String; 3]> = BTreeMap::new();
    for (name, value) in fields {
        if value.contains('\0') {
            problems.push(Violation::new(
                name.as_str(),
                value.escape_debug(),
                "plain_text",
                "text may not contain the NUL character (U+0000)",
            ));
            continue;
        }
        if name == "csrf" {
            continue;
        }
        if name == "signed_on" {
            if !value.trim().is_empty() {
                match parse_iso_date(value.trim()) {
                    Ok(d) => signed_on = Some(d),
                    Err(e) => {
                        problems.push(Violation::new("signed_on", value, "date", e.to_string()))
                    }
                }
            }
            continue;
        }
        let row = name
            .strip_prefix("signatories[")
            .and_then(|r| r.split_once("]."))
            .and_then(|(i, part)| Some((i.parse::<usize>().ok()?, part)))
            .and_then(|(i, part)| {
                let slot = ["name", "role", "party"].iter().position(|p| *p == part)?;
                Some((i, slot))
            });
        match row {
            Some((i, slot)) if i < MAX_SIGNATORIES * 5 => {
                rows.entry(i).or_default()[slot] = value.clone();
            }
            _ => problems.push(Violation::new(
                name.as_str(),
                "",
                "unknown_field",
                "the fields are file, signed_on and signatories[N].name, signatories[N].role, signatories[N].party",
            )),
        }
    }
    let mut signatories = Vec::new();
    for (i, [name, role, party]) in rows {
        if name.trim().is_empty() && role.trim().is_empty() && party.trim().is_empty() {
            continue;
        }
        let party = if party.trim().is_empty() {
            None
        } else {
            match OrgNumber::parse(&party) {
                Ok(o) => Some(o),
                Err(e) => {
                    problems.push(Violation::new(
                        format!("signatories[{i}].party"),
                        &party,
                        "org_number",
                        e.to_string(),
                    ));
                    None
                }
            }
        };
        signatories.push(Signatory {
            name: name.trim().to_owned(),
            role: Some(role.trim().to_owned()).filter(|r| !r.is_empty()),
            party,
        });
    }
    if problems.is_empty() {
        Ok((signed_on, signatories))
    } else {
        Err(problems)
    }
}

pub fn document_id(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::NotFound("no such document".into()))
}

pub fn reference(raw: &str) -> Result<Reference, AppError> {
    Reference::parse(raw).map_err(|_| AppError::NotFound("no such agreement".into()))
}

/// `POST /api/v1/agreements/{reference}/documents/{id}/signed`: records the signed copy of a
/// generated document (multipart `file`, `signed_on`, `signatories[N].*`; or the PDF as the
/// body with those fields in the query string).
pub async fn upload_signed(
    Acting(state): Acting,
    Path((raw, id)): Path<(String, String)>,
    req: Request<Body>,
) -> Result<(StatusCode, Json<SignedCopyItem>), AppError> {
    let key = reference(&raw)?;
    let id = document_id(&id)?;
    let upload = match read_upload(req, state.registry.settings.upload_max_bytes).await {
        Ok(u) => u,
        Err(ReadError::TooLarge) => return Err(AppError::TooLarge),
        Err(ReadError::Invalid(v)) => return Err(AppError::Invalid(v)),
    };
    let done = state.registry.record_signed_copy(&key, id, &upload).await?;
    Ok((StatusCode::CREATED, Json(item(done.copy))))
}

/// Body of `POST .../documents/{id}/sent`: that a generated document went out for signature.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendingBody {
    /// The day it was sent; today when absent.
    #[serde(default)]
    pub sent_on: Option<chrono::NaiveDate>,
    /// How: `email`, `post`, `e_signature` or `in_person`.
    pub method: SendMethod,
    /// To whom: names, e-mail or postal addresses, one line.
    pub sent_to: String,
}

impl From<SendingBody> for Sending {
    fn from(b: SendingBody) -> Self {
        Sending {
            sent_on: b.sent_on,
            method: b.method,
            sent_to: b.sent_to,
        }
    }
}

/// The texts of the page's form as a sending: the day (blank is today) and the method parsed,
/// each field that does not parse named.
pub fn sending_of_form(
    sent_on: &str,
    method: &str,
    sent_to: &str,
) -> Result<Sending, Vec<Violation>> {
    let mut problems = Vec::new();
    let day = match sent_on.trim() {
        "" => None,
        s => match parse_iso_date(s) {
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(Violation::new("sent_on", s, "date", e.to_string()));
                None
            }
        },
    };
    let method = match SendMethod::parse(method.trim()) {
        Ok(m) => Some(m),
        Err(e) => {
            problems.push(Violation::new("method", method, "send_method", e));
            None
        }
    };
    match method {
        Some(method) if problems.is_empty() => Ok(Sending {
            sent_on: day,
            method,
            sent_to: sent_to.to_owned(),
        }),
        _ => Err(problems),
    }
}

/// `POST /api/v1/agreements/{reference}/documents/{id}/sent`: records that a generated document
/// was sent for signature.
pub async fn record_sent(
    Acting(state): Acting,
    Path((raw, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<SendingBody>,
) -> Result<(StatusCode, Json<SignatureRequestMeta>), AppError> {
    let key = reference(&raw)?;
    let id = document_id(&id)?;
    let sent = state
        .registry
        .record_sent_for_signature(&key, id, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

/// `GET /api/v1/agreements/{reference}/documents/{id}/signed` (and the same path of the pages):
/// the signed PDF.
pub async fn show_signed(
    Acting(state): Acting,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let key = reference(&raw)?;
    let id = document_id(&id)?;
    let (meta, pdf) = state.registry.signed_copy(&key, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", meta.file_name),
            ),
            (header::ETAG, format!("\"{}\"", meta.sha256)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        pdf,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_rows_become_signatories_and_blank_rows_are_left_out() {
        let (on, people) = signature_fields(&pairs(&[
            ("csrf", "x"),
            ("signed_on", "2026-11-20"),
            ("signatories[0].name", " Anna Andersson "),
            ("signatories[0].role", "kommundirektör"),
            ("signatories[0].party", "212900-0028"),
            ("signatories[1].name", ""),
            ("signatories[1].role", ""),
            ("signatories[2].name", "Omar Said"),
        ]))
        .unwrap();
        assert_eq!(on.map(|d| d.to_string()).as_deref(), Some("2026-11-20"));
        assert_eq!(people.len(), 2);
        assert_eq!(people[0].name, "Anna Andersson");
        assert_eq!(people[1].role, None);
    }

    #[test]
    fn the_sending_form_parses_its_day_and_method_and_names_what_does_not() {
        let s = sending_of_form("", "post", "Anna, Storgatan 1").unwrap();
        assert_eq!((s.sent_on, s.method), (None, SendMethod::Post));
        let s = sending_of_form("2026-11-20", "e_signature", "x").unwrap();
        assert_eq!(
            s.sent_on.map(|d| d.to_string()).as_deref(),
            Some("2026-11-20")
        );
        let wrong = sending_of_form("igår", "duva", "x").unwrap_err();
        let fields: Vec<_> = wrong.iter().map(|v| (v.field.as_str(), v.rule)).collect();
        assert_eq!(fields, [("sent_on", "date"), ("method", "send_method")]);
    }

    #[test]
    fn each_field_that_does_not_parse_is_named() {
        let wrong = signature_fields(&pairs(&[
            ("signed_on", "igår"),
            ("signatories[0].name", "A"),
            ("signatories[0].party", "123"),
            ("signatory", "B"),
        ]))
        .unwrap_err();
        let fields: Vec<_> = wrong.iter().map(|v| (v.field.as_str(), v.rule)).collect();
        assert_eq!(
            fields,
            [
                ("signed_on", "date"),
                ("signatory", "unknown_field"),
                ("signatories[0].party", "org_number"),
            ]
        );
    }
}
