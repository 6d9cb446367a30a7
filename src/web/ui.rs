//! What every page shares: the tera templates (compiled into the binary, autoescaped) and their
//! Swedish filters, the Swedish names of codes and rules, the page context with the session's
//! form token, rendering, and errors shown as pages. Handlers are above this, in `pages`,
//! `forms`, `history` and the others.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use tera::{Context, Tera};

use super::error::AppError;
use crate::domain::access::{Principal, Role};
use crate::domain::party::Violation;
use crate::registry::StoreError;

/// The CSRF token of the request's session, for the forms a page renders.
#[derive(Debug, Clone)]
pub struct Csrf(pub String);

/// Every page template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../templates/web/layout.html"),
    ),
    (
        "macros.html",
        include_str!("../../templates/web/macros.html"),
    ),
    ("login.html", include_str!("../../templates/web/login.html")),
    ("error.html", include_str!("../../templates/web/error.html")),
    ("start.html", include_str!("../../templates/web/start.html")),
    (
        "outcomes.html",
        include_str!("../../templates/web/outcomes.html"),
    ),
    (
        "agreements.html",
        include_str!("../../templates/web/agreements.html"),
    ),
    (
        "agreement.html",
        include_str!("../../templates/web/agreement.html"),
    ),
    ("form.html", include_str!("../../templates/web/form.html")),
    (
        "figures.html",
        include_str!("../../templates/web/figures.html"),
    ),
    (
        "figures_table.html",
        include_str!("../../templates/figures_table.html"),
    ),
    (
        "organisation.html",
        include_str!("../../templates/web/organisation.html"),
    ),
    (
        "tokens.html",
        include_str!("../../templates/web/tokens.html"),
    ),
    ("audit.html", include_str!("../../templates/web/audit.html")),
    ("users.html", include_str!("../../templates/web/users.html")),
    (
        "outbox.html",
        include_str!("../../templates/web/outbox.html"),
    ),
    (
        "history_as_of.html",
        include_str!("../../templates/web/history_as_of.html"),
    ),
    (
        "history_diff.html",
        include_str!("../../templates/web/history_diff.html"),
    ),
    (
        "history_verify.html",
        include_str!("../../templates/web/history_verify.html"),
    ),
    (
        "history_form.html",
        include_str!("../../templates/web/history_form.html"),
    ),
    (
        "export_links.html",
        include_str!("../../templates/web/export_links.html"),
    ),
];

static RULES_SV: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../templates/web/rules.json")).unwrap_or_default()
});

/// The pages' templates, compiled once.
static TERA: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut t = Tera::default();
    t.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| format!("{e:?}"))?;
    t.autoescape_on(vec![".html"]);
    register_filters(&mut t);
    t.register_filter(
        "sv",
        |v: &Value, args: &HashMap<String, Value>| -> tera::Result<Value> {
            let code = match v {
                Value::String(s) => s.clone(),
                Value::Null => return Ok(Value::String(String::new())),
                other => other.to_string(),
            };
            let list = args.get("list").and_then(Value::as_str);
            Ok(Value::String(label_sv(list, &code)))
        },
    );
    t.register_filter(
        "kr",
        |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            let raw = match v {
                Value::String(s) => s.clone(),
                Value::Null => return Ok(Value::String(String::new())),
                other => other.to_string(),
            };
            Ok(Value::String(kronor(&raw)))
        },
    );
    Ok(t)
});

pub use crate::text::label_sv;

/// An amount as Swedes write it: `1450000.00` -> `1 450 000`, `12.50` -> `12,50`.
pub fn kronor(raw: &str) -> String {
    let (sign, rest) = match raw.strip_prefix('-') {
        Some(r) => ("−", r),
        None => ("", raw),
    };
    let (whole, frac) = rest.split_once('.').unwrap_or((rest, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return raw.to_owned();
    }
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(ch);
    }
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac:0<2}")
    }
}

/// The Swedish sentence for a broken rule (the rule's own message when none is written).
pub fn rule_sv(v: &Violation) -> String {
    let specific = format!("{}@{}", v.rule, v.field);
    match RULES_SV.get(&specific).or_else(|| RULES_SV.get(v.rule)) {
        Some(t) => t.replace("{value}", &v.value),
        None => v.message.clone(),
    }
}

/// Renders template `name` with `ctx`, or a plain 500 page when a template is broken.
pub fn render(name: &str, ctx: &Context, status: StatusCode) -> Response {
    let out = match &*TERA {
        Ok(t) => t.render(name, ctx).map_err(|e| format!("{e:?}")),
        Err(e) => Err(e.clone()),
    };
    match out {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Fel</title><p>Ett internt fel inträffade.</p>"),
            )
                .into_response()
        }
    }
}

/// The context every page shares: the signed-in user and the session's form token.
pub fn base(user: Option<&Principal>, csrf: Option<&Csrf>) -> Context {
    let mut ctx = Context::new();
    if let Some(u) = user {
        ctx.insert(
            "user",
            &json!({
                "email": u.email,
                "role": u.role,
                "role_label": u.role.label_sv(),
                "org": u.org,
                "writes": u.may_write(),
                "enterprise": u.role == Role::Enterprise,
            }),
        );
    }
    ctx.insert("csrf", &csrf.map(|c| c.0.as_str()).unwrap_or_default());
    ctx
}

/// An error page with the status's Swedish explanation.
pub fn error_page(status: StatusCode, detail: Option<&str>) -> Response {
    let mut ctx = base(None, None);
    let (title, text) = match status {
        StatusCode::NOT_FOUND => (
            "Sidan finns inte",
            "Det du söker finns inte, eller så får du inte se det.",
        ),
        StatusCode::FORBIDDEN => ("Inte tillåtet", "Din roll får inte göra det här."),
        StatusCode::CONFLICT => ("Ändrat av någon annan", "Ladda om sidan och försök igen."),
        StatusCode::SERVICE_UNAVAILABLE => (
            "Tjänsten är inte tillgänglig",
            "Dokument kan inte skapas just nu. Övriga funktioner fungerar.",
        ),
        StatusCode::BAD_REQUEST => ("Felaktig begäran", "Uppgifterna kunde inte läsas."),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "För stort",
            "Det du skickade är större än tjänsten tar emot. En rapportfil får vara högst så stor som sidan anger.",
        ),
        _ => (
            "Något gick fel",
            "Ett internt fel inträffade. Orsaken finns i serverns logg.",
        ),
    };
    ctx.insert("title", title);
    ctx.insert("text", text);
    ctx.insert("detail", &detail);
    ctx.insert("status", &status.as_u16());
    render("error.html", &ctx, status)
}

/// The Swedish sentence for a parameter or form field that could not be read: the field's own
/// advice from `templates/web/rules.json` (`param@<field>`), else a general one naming it.
pub fn bad_request_sv(field: Option<&str>, message: &str) -> String {
    if message.contains("NUL") {
        let text = RULES_SV.get("no_nul").cloned().unwrap_or_default();
        return match field {
            Some(f) => format!("{f}: {text}"),
            None => text,
        };
    }
    let Some(field) = field else {
        return "Uppgifterna kunde inte läsas. Kontrollera adressen eller formuläret och försök igen."
            .to_owned();
    };
    let name = field.split(['.', '[']).next().unwrap_or(field);
    if message.starts_with("duplicate field") {
        return format!("{name}: parametern får bara anges en gång.");
    }
    match RULES_SV.get(&format!("param@{name}")) {
        Some(advice) => format!("{name}: värdet kunde inte läsas. {advice}"),
        None => format!("{name}: värdet kunde inte läsas, eller så finns ingen sådan parameter."),
    }
}

/// An `AppError` shown as a page.
#[derive(Debug)]
pub struct PageError(pub AppError);

/// The query parameters of a page: read as the API reads them (`ApiQuery`), and a malformed or
/// unknown parameter gets the Swedish error page naming it, never axum's plain-text 400.
#[derive(Debug)]
pub struct PageParams<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for PageParams<T>
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, PageError> {
        <super::extract::ApiQuery<T> as axum::extract::FromRequestParts<S>>::from_request_parts(
            parts, state,
        )
        .await
        .map(|q| PageParams(q.0))
        .map_err(PageError)
    }
}

macro_rules! page_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for PageError {
            fn from(e: $t) -> Self {
                Self(e.into())
            }
        }
    )*};
}

page_error_from!(
    AppError,
    StoreError,
    crate::registry::RegistryError,
    crate::documents::RenderError
);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        match self.0 {
            AppError::Unauthorized => Redirect::to("/login").into_response(),
            e @ AppError::Internal(_) => {
                // AppError's own response logs the cause once.
                let _ = e.into_response();
                error_page(status, None)
            }
            AppError::Invalid(v) => {
                let text: Vec<String> = v.iter().map(rule_sv).collect();
                error_page(status, Some(&text.join(" ")))
            }
            // Say which parameter was wrong and how to write it, in Swedish.
            AppError::BadRequest { field, message } => {
                error_page(status, Some(&bad_request_sv(field.as_deref(), &message)))
            }
            _ => error_page(status, None),
        }
    }
}

/// The login page.
pub fn login(
    email: &str,
    next: &str,
    token: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut ctx = base(None, None);
    ctx.insert("login_token", token);
    ctx.insert("email", email);
    ctx.insert("next", next);
    ctx.insert("error", &error);
    render("login.html", &ctx, status)
}

/// Adds the filters the history templates use: `url_part` percent-encodes a query parameter's name or
/// value (tera's built-in `urlencode_strict` is not compiled in).
fn register_filters(t: &mut Tera) {
    t.register_filter(
        "url_part",
        |v: &Value, _: &HashMap<String, Value>| -> tera::Result<Value> {
            let raw = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            Ok(Value::String(
                form_urlencoded::byte_serialize(raw.as_bytes()).collect(),
            ))
        },
    );
}

/// Whether a path is under the JSON API.
pub(super) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// A refusal in the caller's language: JSON for the API, a page (or the login) for browsers.
pub(super) fn refuse(path: &str, status: StatusCode, message: &str) -> Response {
    if is_api(path) {
        match status {
            StatusCode::UNAUTHORIZED => AppError::Unauthorized.into_response(),
            StatusCode::NOT_FOUND => AppError::NotFound(message.to_owned()).into_response(),
            StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge.into_response(),
            _ => AppError::Forbidden(message.to_owned()).into_response(),
        }
    } else if status == StatusCode::UNAUTHORIZED {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        error_page(status, Some(message).filter(|m| !m.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    /// Every code of a list, by the list name the templates pass to `sv`.
    fn codes_of<T: Serialize>(all: &[T]) -> Vec<String> {
        all.iter()
            .map(|c| {
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn every_code_of_every_list_the_pages_show_has_a_swedish_label() {
        use crate::domain::codes::*;
        let lists: Vec<(Option<&str>, Vec<String>)> = vec![
            (None, codes_of(AgreementKind::ALL)),
            (None, codes_of(AgreementStatus::ALL)),
            (Some("basis"), codes_of(LegalBasis::ALL)),
            (None, codes_of(ProcedureType::ALL)),
            (None, codes_of(PartyRole::ALL)),
            (None, codes_of(ValueBasis::ALL)),
            (None, codes_of(AmendmentGround::ALL)),
            (None, codes_of(OptionState::ALL)),
            (None, codes_of(OccurrenceState::ALL)),
            (Some("bt_775"), codes_of(SocialObjective::ALL)),
            (Some("bt_71"), codes_of(ReservedParticipation::ALL)),
            (Some("bt_736"), codes_of(ReservedExecution::ALL)),
            (Some("bt_06"), codes_of(StrategicProcurement::ALL)),
            (Some("bt_765"), codes_of(FrameworkType::ALL)),
            (Some("bt_23"), codes_of(ContractNature::ALL)),
            (Some("strategy"), codes_of(SustainabilityStrategy::ALL)),
            (Some("contribution"), codes_of(ContributionKind::ALL)),
            (Some("recurrence"), codes_of(Recurrence::ALL)),
            (Some("decider"), codes_of(OptionDecider::ALL)),
            (Some("effect"), codes_of(NoticeEffect::ALL)),
            (Some("send"), codes_of(SendMethod::ALL)),
        ];
        let mut missing = Vec::new();
        for (list, codes) in lists {
            for code in codes {
                let key = list.map_or(code.clone(), |l| format!("{l}:{code}"));
                if !crate::text::has_label_sv(&key) && !crate::text::has_label_sv(&code) {
                    missing.push(key);
                }
            }
        }
        assert_eq!(
            missing,
            Vec::<String>::new(),
            "codes without a Swedish label"
        );
        assert_eq!(
            label_sv(Some("bt_775"), "opp"),
            "Sysselsättning för personer långt från arbetsmarknaden"
        );
        assert_eq!(label_sv(Some("basis"), "iop"), "IOP utanför upphandling");
        assert_eq!(
            label_sv(None, "iop"),
            "IOP (idéburet offentligt partnerskap)"
        );
        assert_eq!(
            label_sv(Some("bt_71"), "none"),
            "Inget reserverat deltagande"
        );
        assert_eq!(label_sv(Some("nolist"), "no-such-code"), "no-such-code");
    }

    #[test]
    fn the_templates_compile_and_the_error_page_renders_without_a_user() {
        let t = TERA.as_ref().unwrap_or_else(|e| panic!("{e}"));
        let mut ctx = base(None, None);
        ctx.insert("title", "Sidan finns inte");
        ctx.insert("text", "x");
        ctx.insert("detail", &Some("<b>"));
        ctx.insert("status", &404);
        let html = t
            .render("error.html", &ctx)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(html.contains("&lt;b&gt;"));
    }

    #[test]
    fn amounts_are_grouped_by_thousands_with_a_decimal_comma() {
        assert_eq!(kronor("1450000.00"), "1\u{a0}450\u{a0}000");
        assert_eq!(kronor("12.5"), "12,50");
        assert_eq!(kronor("-999"), "−999");
        assert_eq!(kronor("abc"), "abc");
    }
}
