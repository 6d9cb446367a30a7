//! The pages behind signed links (`/l/{token}`), for enterprises without an account: see one
//! report occurrence, acknowledge the reminder, upload the report. Swedish, server-rendered from
//! `templates/links/` with autoescaping; every refusal is a page with its status, never a 500
//! for a bad link and never data of another occurrence.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use tera::{Context, Tera};

use super::state::AppState;
use crate::domain::codes::OccurrenceState;
use crate::domain::reports::{self, FoundOccurrence};
use crate::domain::{agreement::Agreement, agreement::ReportingObligation};
use crate::links::files::{self, FileType};
use crate::links::sha256_hex;
use crate::links::token::{LinkClaims, Purpose, TokenError};
use crate::registry::StoreError;
use crate::registry::links::Upload;
use crate::registry::{AgreementAction, RegistryError};
use crate::text::swedish_date;

static PAGES: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.add_raw_templates([
        ("base.html", include_str!("../../templates/links/base.html")),
        (
            "texts.html",
            include_str!("../../templates/links/texts.html"),
        ),
        (
            "occurrence.html",
            include_str!("../../templates/links/occurrence.html"),
        ),
        ("done.html", include_str!("../../templates/links/done.html")),
        (
            "figures_table.html",
            include_str!("../../templates/figures_table.html"),
        ),
        (
            "problem.html",
            include_str!("../../templates/links/problem.html"),
        ),
    ])
    .map_err(|e| e.to_string())?;
    Ok(tera)
});

/// Why a link request is refused, each with its own page and status.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Malformed,
    Tampered,
    Expired(chrono::NaiveDate),
    NotFound,
    Closed(OccurrenceState),
    AcknowledgeOnly,
    NoFile,
    WrongType,
    TooLarge,
    /// The agreement changed at the same moment; trying again works.
    Busy,
    Unavailable,
    Internal,
}

impl Problem {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Tampered => "tampered",
            Self::Expired(_) => "expired",
            Self::NotFound => "not_found",
            Self::Closed(_) => "closed",
            Self::AcknowledgeOnly => "acknowledge_only",
            Self::NoFile => "no_file",
            Self::WrongType => "wrong_type",
            Self::TooLarge => "too_large",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Malformed | Self::NotFound => StatusCode::NOT_FOUND,
            Self::Tampered | Self::AcknowledgeOnly => StatusCode::FORBIDDEN,
            Self::Expired(_) | Self::Closed(_) => StatusCode::GONE,
            Self::NoFile => StatusCode::BAD_REQUEST,
            Self::WrongType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Busy => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn max_mib(state: &AppState) -> String {
    let mib = state.registry.settings.upload_max_bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1.0 {
        format!("{mib:.0}")
    } else {
        format!("{mib:.2}")
    }
}

/// Headers of every link page: not cached, not framed, the token never leaves in a Referer, and
/// nothing loads but the app's own stylesheet.
fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

fn render(name: &str, ctx: &Context) -> Result<String, String> {
    let tera = PAGES.as_ref().map_err(Clone::clone)?;
    tera.render(name, ctx).map_err(|e| {
        let mut m = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            m.push_str(": ");
            m.push_str(&s.to_string());
            source = s.source();
        }
        m
    })
}

fn problem_page(state: &AppState, p: &Problem, retry: Option<String>) -> Response {
    let mut ctx = Context::new();
    ctx.insert("problem", p.code());
    ctx.insert("max_mib", &max_mib(state));
    ctx.insert("retry", &retry);
    if let Problem::Expired(day) = p {
        ctx.insert("expired_on", &swedish_date(*day));
    }
    if let Problem::Closed(s) = p {
        ctx.insert("closed_state", s);
    }
    match render("problem.html", &ctx) {
        Ok(html) => page(p.status(), html),
        Err(e) => {
            tracing::error!(error = %e, "the link problem page does not render");
            page(
                p.status(),
                "<!DOCTYPE html><title>Fel</title><p>Fel.</p>".into(),
            )
        }
    }
}

/// A link that checked out: its claims, the agreement and the occurrence as seen today.
struct Opened {
    claims: LinkClaims,
    agreement: Agreement,
    found: FoundOccurrence,
}

/// Verifies the token, then loads the one occurrence it names; only an open occurrence passes.
async fn open(state: &AppState, token: &str) -> Result<Opened, Problem> {
    let registry = &state.registry;
    let key = registry.link_key().map_err(|e| {
        tracing::error!(error = %e, "no link-signing key");
        Problem::Unavailable
    })?;
    let today = registry.settings.today();
    let claims = key.verify(token, today).map_err(|e| match e {
        TokenError::Malformed => Problem::Malformed,
        TokenError::BadSignature => Problem::Tampered,
        TokenError::Expired(c) => Problem::Expired(c.expires),
    })?;
    let stored = match registry.agreement(&claims.reference).await {
        Ok(s) => s,
        Err(RegistryError::Store(StoreError::NotFound { .. })) => return Err(Problem::NotFound),
        Err(e) => {
            tracing::error!(error = %e, reference = %claims.reference, "reading a link's agreement failed");
            return Err(Problem::Internal);
        }
    };
    let found = reports::find(&stored.data, &claims.report, claims.period_end, today)
        .map_err(|_| Problem::NotFound)?;
    if reports::is_closed(found.occurrence.state) {
        return Err(Problem::Closed(found.occurrence.state));
    }
    Ok(Opened {
        claims,
        agreement: stored.data,
        found,
    })
}

#[derive(Serialize)]
struct OccurrenceView<'a> {
    token: &'a str,
    reference: &'a str,
    title: &'a str,
    report_kind: String,
    description: Option<&'a str>,
    final_report: bool,
    period_end: String,
    due: String,
    state: OccurrenceState,
    acknowledged_on: Option<String>,
    rejection_reason: Option<&'a str>,
    can_upload: bool,
    max_mib: String,
    /// One row per indicator the report carries.
    figures: Vec<super::figures_form::FigureRow>,
    /// Errors that belong to no single input.
    errors: Vec<String>,
    /// Whether a figure far off the earlier periods waits for confirmation.
    confirm: bool,
}

fn occurrence_view<'a>(state: &AppState, token: &'a str, o: &'a Opened) -> OccurrenceView<'a> {
    let ob: Option<&ReportingObligation> = o.agreement.reporting.get(o.found.obligation);
    let record = ob.and_then(|ob| {
        ob.occurrences
            .iter()
            .find(|r| r.period_end == o.found.occurrence.period_end)
    });
    OccurrenceView {
        token,
        reference: o.agreement.reference.as_str(),
        title: &o.agreement.title,
        report_kind: super::ui::label_sv(None, &o.found.occurrence.kind),
        description: ob.and_then(|ob| ob.description.as_deref()),
        final_report: o.found.occurrence.final_report,
        period_end: swedish_date(o.found.occurrence.period_end),
        due: swedish_date(o.found.occurrence.due),
        state: o.found.occurrence.state,
        acknowledged_on: record.and_then(|r| r.acknowledged_on).map(swedish_date),
        rejection_reason: record.and_then(|r| r.rejection_reason.as_deref()),
        can_upload: o.claims.purpose == Purpose::Report,
        max_mib: max_mib(state),
        figures: ob
            .map(|ob| {
                let prefill = record.map(|r| r.figures.as_slice()).unwrap_or_default();
                super::figures_form::rows(&o.agreement, ob, None, prefill)
            })
            .unwrap_or_default(),
        errors: Vec::new(),
        confirm: false,
    }
}

fn context_of<T: Serialize>(v: &T) -> Result<Context, String> {
    Context::from_serialize(v).map_err(|e| e.to_string())
}

fn internal_page(state: &AppState, e: &str) -> Response {
    tracing::error!(error = %e, "a link page does not render");
    problem_page(state, &Problem::Internal, None)
}

/// `GET /l/{token}`: the occurrence, a button to acknowledge and, for an upload link, the form.
pub async fn show_link(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let opened = match open(&state, &token).await {
        Ok(o) => o,
        Err(p) => return problem_page(&state, &p, None),
    };
    match context_of(&occurrence_view(&state, &token, &opened))
        .and_then(|ctx| render("occurrence.html", &ctx))
    {
        Ok(html) => page(StatusCode::OK, html),
        Err(e) => internal_page(&state, &e),
    }
}

#[derive(Serialize)]
struct DoneView<'a> {
    what: &'static str,
    reference: &'a str,
    report_kind: String,
    period_end: String,
    due: String,
    file_name: Option<String>,
    size: Option<String>,
    sha256: Option<String>,
}

fn done_view<'a>(o: &'a Opened, what: &'static str) -> DoneView<'a> {
    DoneView {
        what,
        reference: o.agreement.reference.as_str(),
        report_kind: super::ui::label_sv(None, &o.found.occurrence.kind),
        period_end: swedish_date(o.found.occurrence.period_end),
        due: swedish_date(o.found.occurrence.due),
        file_name: None,
        size: None,
        sha256: None,
    }
}

/// A refusal from the registry after the link checked out: the occurrence closed meanwhile.
fn registry_problem(e: RegistryError, reference: &str) -> Problem {
    match e {
        RegistryError::Invalid(v) if v.iter().any(|v| v.rule == "report_state_transition") => {
            Problem::Closed(OccurrenceState::Submitted)
        }
        RegistryError::Store(StoreError::NotFound { .. }) => Problem::NotFound,
        RegistryError::Store(StoreError::Stale { .. }) => Problem::Busy,
        other => {
            tracing::error!(error = %other, %reference, "a change through a link failed");
            Problem::Internal
        }
    }
}

/// `POST /l/{token}/acknowledge`: records that the reminder arrived (`acknowledged_on`).
pub async fn acknowledge(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let opened = match open(&state, &token).await {
        Ok(o) => o,
        Err(p) => return problem_page(&state, &p, None),
    };
    let c = &opened.claims;
    let acted = state
        .registry
        .with_actor(&c.actor())
        .act(
            &c.reference,
            None,
            AgreementAction::AcknowledgeReport {
                report: c.report.clone(),
                period_end: c.period_end,
            },
        )
        .await;
    if let Err(e) = acted {
        return problem_page(&state, &registry_problem(e, c.reference.as_str()), None);
    }
    match context_of(&done_view(&opened, "acknowledged")).and_then(|ctx| render("done.html", &ctx))
    {
        Ok(html) => page(StatusCode::OK, html),
        Err(e) => internal_page(&state, &e),
    }
}

/// Why a form brought no usable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormFileError {
    /// No `file` field, an empty one, or a broken form.
    Missing,
    /// Larger than the limit.
    TooLarge,
}

/// Reads the `file` field of a multipart form, at most `max` bytes, with the name the browser
/// gave it; a larger file is read to its end (so the client gets the answer) and refused.
pub async fn read_form_file(
    mut form: Multipart,
    max: usize,
) -> Result<(Vec<u8>, Option<String>), FormFileError> {
    let too_large_or_broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormFileError::TooLarge
        } else {
            FormFileError::Missing
        }
    };
    while let Some(mut field) = form.next_field().await.map_err(too_large_or_broken)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().map(|n| n.chars().take(255).collect());
        let mut bytes = Vec::new();
        let mut over = false;
        while let Some(chunk) = field.chunk().await.map_err(too_large_or_broken)? {
            if over || bytes.len() + chunk.len() > max {
                over = true;
                bytes.clear();
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if over {
            return Err(FormFileError::TooLarge);
        }
        if bytes.is_empty() {
            return Err(FormFileError::Missing);
        }
        return Ok((bytes, name));
    }
    Err(FormFileError::Missing)
}

fn human_size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.0} kB", n as f64 / 1024.0)
    } else {
        format!("{n} byte")
    }
}

/// `POST /l/{token}/report` (multipart, field `file`): stores a PDF, ODT or DOCX with its SHA-256
/// and marks the occurrence submitted.
pub async fn upload_report(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let opened = match open(&state, &token).await {
        Ok(o) => o,
        Err(p) => return problem_page(&state, &p, None),
    };
    let back = Some(format!("../{token}"));
    if opened.claims.purpose != Purpose::Report {
        return problem_page(&state, &Problem::AcknowledgeOnly, None);
    }
    let Ok(form) = form else {
        return problem_page(&state, &Problem::NoFile, back);
    };
    let obligation = opened.agreement.reporting.get(opened.found.obligation);
    let carries = obligation.is_some_and(|ob| !ob.indicators.is_empty());
    let (file, fields) =
        match read_report_form(form, state.registry.settings.upload_max_bytes).await {
            Ok(f) => f,
            Err(FormFileError::TooLarge) => {
                return problem_page(&state, &Problem::TooLarge, back);
            }
            Err(FormFileError::Missing) => return problem_page(&state, &Problem::NoFile, back),
        };
    if file.is_none() && !carries {
        return problem_page(&state, &Problem::NoFile, back);
    }
    let upload = match file {
        Some((bytes, original_name)) => {
            let Some(file_type) = files::sniff(&bytes) else {
                return problem_page(&state, &Problem::WrongType, back);
            };
            Some(Upload {
                bytes,
                file_type,
                original_name,
            })
        }
        None => None,
    };
    // A figures CSV fills the inputs it names (typed inputs win).
    let mut fields = fields;
    let mut csv_problem = None;
    if let Some(text) = fields
        .get("figures_csv")
        .filter(|t| !t.trim().is_empty())
        .cloned()
    {
        match super::figures_form::csv_fields(&text) {
            Ok(from_csv) => {
                for (k, v) in from_csv {
                    let typed = fields.get(&k).is_some_and(|t| !t.trim().is_empty());
                    if !typed {
                        fields.insert(k, v);
                    }
                }
            }
            Err(v) => csv_problem = Some(v),
        }
    }
    let (figures, mut problems) = match obligation {
        Some(ob) if carries => {
            let (f, bad) = super::figures_form::parse(&opened.agreement, ob, &fields);
            (Some(f), bad)
        }
        _ => (None, Vec::new()),
    };
    problems.extend(csv_problem);
    let confirmed = fields.get("confirmed").is_some_and(|v| !v.is_empty());
    let c = &opened.claims;
    if problems.is_empty() {
        let stored = state
            .registry
            .with_actor(&c.actor())
            .submit_report(
                &c.reference,
                &c.report,
                c.period_end,
                upload.as_ref(),
                figures,
                confirmed,
            )
            .await;
        match stored {
            Ok((_, meta)) => {
                let view = DoneView {
                    file_name: meta.map(|m| m.file_name),
                    size: upload.as_ref().map(|u| human_size(u.bytes.len())),
                    sha256: upload.as_ref().map(|u| sha256_hex(&u.bytes)),
                    ..done_view(&opened, "submitted")
                };
                return match context_of(&view).and_then(|ctx| render("done.html", &ctx)) {
                    Ok(html) => page(StatusCode::OK, html),
                    Err(e) => internal_page(&state, &e),
                };
            }
            Err(RegistryError::Invalid(v))
                if !v.iter().any(|v| v.rule == "report_state_transition") =>
            {
                problems = v;
            }
            Err(e) => {
                return problem_page(&state, &registry_problem(e, c.reference.as_str()), None);
            }
        }
    }
    // Shown again with the values as typed and each error beside its input.
    let mut view = occurrence_view(&state, &token, &opened);
    if let Some(ob) = obligation {
        view.figures = super::figures_form::rows(&opened.agreement, ob, Some(&fields), &[]);
    }
    view.errors = super::figures_form::attach(&mut view.figures, &problems);
    view.confirm = problems.iter().any(|v| v.rule == "unusual_value");
    if upload.is_some() {
        view.errors
            .push("Välj filen igen när du skickar på nytt.".to_owned());
    }
    match context_of(&view).and_then(|ctx| render("occurrence.html", &ctx)) {
        Ok(html) => page(StatusCode::UNPROCESSABLE_ENTITY, html),
        Err(e) => internal_page(&state, &e),
    }
}

/// Reads a report form: the `file` field (if a file was chosen) and every text field, at most
/// `max` bytes of file and 64 kB of text.
pub async fn read_report_form(
    mut form: Multipart,
    max: usize,
) -> Result<(Option<(Vec<u8>, Option<String>)>, HashMap<String, String>), FormFileError> {
    let too_large_or_broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormFileError::TooLarge
        } else {
            FormFileError::Missing
        }
    };
    let mut file = None;
    let mut fields = HashMap::new();
    let mut text_bytes = 0usize;
    while let Some(mut field) = form.next_field().await.map_err(too_large_or_broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "figures_csv" {
            let bytes = field.bytes().await.map_err(too_large_or_broken)?;
            text_bytes += bytes.len();
            if text_bytes > 64 * 1024 {
                return Err(FormFileError::TooLarge);
            }
            fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            continue;
        }
        if name == "file" {
            let original = field.file_name().map(|n| n.chars().take(255).collect());
            let mut bytes = Vec::new();
            let mut over = false;
            while let Some(chunk) = field.chunk().await.map_err(too_large_or_broken)? {
                if over || bytes.len() + chunk.len() > max {
                    over = true;
                    bytes.clear();
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            if over {
                return Err(FormFileError::TooLarge);
            }
            if !bytes.is_empty() {
                file = Some((bytes, original));
            }
            continue;
        }
        let text = field.text().await.map_err(too_large_or_broken)?;
        text_bytes += text.len() + name.len();
        if text_bytes > 64 * 1024 {
            return Err(FormFileError::TooLarge);
        }
        fields.insert(name, text);
    }
    Ok((file, fields))
}

/// A request path fit for the log: the token of a signed link or a calendar feed is replaced, so
/// the credential never reaches a log line.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = path.strip_prefix("/l/") {
        let action = rest.split_once('/').map(|(_, a)| a).unwrap_or_default();
        let sep = if action.is_empty() { "" } else { "/" };
        return format!("/l/[token]{sep}{action}").into();
    }
    if path.starts_with("/calendar/") {
        return "/calendar/[token]".into();
    }
    path.into()
}

/// The media type of a stored report file, for downloads.
pub fn media_type_of(stored: &str) -> &'static str {
    FileType::from_media_type(stored)
        .map(FileType::media_type)
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/l/v1.abc.def"), "/l/[token]");
        assert_eq!(loggable_path("/l/v1.abc.def/report"), "/l/[token]/report");
        assert_eq!(loggable_path("/calendar/secret.ics"), "/calendar/[token]");
        assert_eq!(loggable_path("/api/v1/agreements"), "/api/v1/agreements");
    }

    #[test]
    fn every_page_template_compiles() {
        assert!(PAGES.is_ok(), "{:?}", PAGES.as_ref().err());
    }

    #[test]
    fn every_problem_renders_a_swedish_page_with_its_status() {
        for (p, status) in [
            (Problem::Malformed, 404),
            (Problem::Tampered, 403),
            (Problem::Expired(chrono::NaiveDate::MIN), 410),
            (Problem::Closed(OccurrenceState::Accepted), 410),
            (Problem::TooLarge, 413),
            (Problem::WrongType, 415),
            (Problem::Internal, 500),
        ] {
            assert_eq!(p.status().as_u16(), status, "{p:?}");
            let mut ctx = Context::new();
            ctx.insert("problem", p.code());
            ctx.insert("max_mib", "20");
            ctx.insert("retry", &None::<String>);
            ctx.insert("expired_on", "1 januari 2027");
            ctx.insert("closed_state", "accepted");
            let html = render("problem.html", &ctx).unwrap_or_else(|e| panic!("{e}"));
            assert!(html.contains("<h1>"), "{html}");
            assert!(html.contains("lang=\"sv\""));
        }
    }
}
