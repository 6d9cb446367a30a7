//! Server-rendered pages in Swedish (tera templates in `templates/web/`, compiled into the
//! binary, autoescaped): the start page with deadlines, the agreement list and page, the audit
//! log, and the error and login pages. Forms, and the token and user pages, are in `forms`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use tera::{Context, Tera};

use super::AppState;
use super::api::{AgreementListQuery, Derived};
use super::auth::Csrf;
use super::error::AppError;
use super::extract::ApiQuery;
use crate::documents;
use crate::domain::access::{Principal, Role};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::deadlines::{DeadlineState, deadlines};
use crate::domain::party::Violation;
use crate::registry::{AgreementFilter, StoreError, Stored};

/// What the pages share besides the registry: the cookie policy.
#[derive(Debug, Default)]
pub struct Ui {
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
}

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
        "agreements.html",
        include_str!("../../templates/web/agreements.html"),
    ),
    (
        "agreement.html",
        include_str!("../../templates/web/agreement.html"),
    ),
    ("form.html", include_str!("../../templates/web/form.html")),
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
];

/// The stylesheet, served at `/static/avtal.css`.
pub const STYLESHEET: &str = include_str!("../../templates/web/avtal.css");

static LABELS: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../templates/web/labels.json")).unwrap_or_default()
});

static RULES_SV: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../templates/web/rules.json")).unwrap_or_default()
});

static TERA: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut t = Tera::default();
    t.add_raw_templates(TEMPLATES.iter().chain(super::history::TEMPLATES).copied())
        .map_err(|e| format!("{e:?}"))?;
    t.autoescape_on(vec![".html"]);
    super::history::register_filters(&mut t);
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

/// The Swedish name of `code` from `templates/web/labels.json`: `list:code` first (a code whose
/// name depends on its list, e.g. `bt_775:opp`), then `code`, else the code itself.
pub fn label_sv(list: Option<&str>, code: &str) -> String {
    list.and_then(|l| LABELS.get(&format!("{l}:{code}")))
        .or_else(|| LABELS.get(code))
        .cloned()
        .unwrap_or_else(|| code.to_owned())
}

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

/// An `AppError` shown as a page.
#[derive(Debug)]
pub struct PageError(pub AppError);

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
    documents::RenderError
);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        match self.0 {
            AppError::Unauthorized => axum::response::Redirect::to("/login").into_response(),
            e @ AppError::Internal(_) => {
                // AppError's own response logs the cause once.
                let _ = e.into_response();
                error_page(status, None)
            }
            AppError::Invalid(v) => {
                let text: Vec<String> = v.iter().map(rule_sv).collect();
                error_page(status, Some(&text.join(" ")))
            }
            // Say which parameter was wrong and why, as the JSON API does.
            AppError::BadRequest { field, message } => {
                let detail = match field {
                    Some(f) => format!("{f}: {message}"),
                    None => message,
                };
                error_page(status, Some(&detail))
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

/// `GET /static/avtal.css`
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The organisation whose agreements a user works with: an officer's or enterprise user's own.
fn own_scope(user: &Principal) -> Option<crate::domain::org_number::OrgNumber> {
    match user.role {
        Role::Officer | Role::Enterprise => user.org.clone(),
        Role::Admin | Role::Auditor => None,
    }
}

/// One row of the deadline table.
#[derive(Debug, Serialize)]
struct DeadlineRow {
    reference: String,
    title: String,
    kind: String,
    date: NaiveDate,
    days: i64,
    urgency: &'static str,
    report_kind: Option<String>,
    report_state: Option<String>,
    period_end: Option<NaiveDate>,
    /// Where an enterprise user hands in this report (its organisation reports it).
    hand_in: Option<String>,
}

fn urgency(days: i64) -> &'static str {
    match days {
        d if d < 0 => "overdue",
        0..=14 => "soon",
        15..=30 => "near",
        _ => "later",
    }
}

/// `GET /` and `GET /deadlines`: deadlines of the next 90 days (the user's organisation's
/// agreements for officers and enterprise users), overdue ones and failed e-mails first.
pub async fn start(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
) -> Result<Response, PageError> {
    let reg = &state.registry;
    let today = reg.settings.today();
    let horizon = today + chrono::Duration::days(90);
    let filter = AgreementFilter {
        party: own_scope(&user),
        ..AgreementFilter::default()
    };
    let mut rows = Vec::new();
    let mut in_scope = std::collections::HashSet::new();
    reg.each_agreement(&filter, |s| {
        in_scope.insert(s.data.reference.to_string());
        for d in deadlines(&s.data, today, &reg.settings.reminders) {
            if d.state != DeadlineState::Open || d.date > horizon {
                continue;
            }
            let overdue_report = d.report.as_ref().is_some_and(|r| {
                matches!(
                    r.state,
                    crate::domain::codes::OccurrenceState::Late
                        | crate::domain::codes::OccurrenceState::Escalated
                )
            });
            if d.date < today && !overdue_report {
                continue;
            }
            let days = (d.date - today).num_days();
            rows.push(DeadlineRow {
                reference: d.reference.to_string(),
                title: s.data.title.clone(),
                kind: d.kind.code().to_owned(),
                date: d.date,
                days,
                urgency: if overdue_report {
                    "overdue"
                } else {
                    urgency(days)
                },
                report_kind: d.report.as_ref().map(|r| r.kind.clone()),
                report_state: d.report.as_ref().map(|r| r.state.code().to_owned()),
                period_end: d.report.as_ref().map(|r| r.period_end),
                hand_in: d
                    .report
                    .as_ref()
                    .filter(|r| !crate::domain::reports::is_closed(r.state))
                    .and_then(|_| d.occurrence.split_once(':'))
                    .filter(|(label, _)| super::report_pages::reports_for(&user, &s.data, label))
                    .map(|_| format!("/agreements/{}#h-reports", d.reference)),
            });
        }
        Ok(())
    })
    .await?;
    rows.sort_by_key(|r| (r.urgency != "overdue", r.date));
    let (overdue, upcoming): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.urgency == "overdue");
    let failed = if user.role == Role::Enterprise {
        Vec::new()
    } else {
        reg.outbox(Some(crate::registry::reminders::OutboxState::Failed), 50)
            .await?
            .into_iter()
        // An officer sees the failures of its own organisation's agreements.
        .filter(|m| filter.party.is_none() || in_scope.contains(&m.reference))
        .map(|m| {
            json!({"reference": m.reference, "kind": m.kind, "subject": m.subject,
                   "attempts": m.attempts, "error": m.last_error, "created_at": m.created_at.date_naive()})
        })
        .collect()
    };
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("today", &today);
    ctx.insert("horizon", &horizon);
    ctx.insert("overdue", &overdue);
    ctx.insert("upcoming", &upcoming);
    ctx.insert("failed", &failed);
    Ok(render("start.html", &ctx, StatusCode::OK))
}

/// `GET /agreements`: the API's filters, sorting and paging as a page (an enterprise user's
/// `party` is fixed to its organisation by the guard).
pub async fn agreements(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    ApiQuery(q): ApiQuery<AgreementListQuery>,
    raw: axum::extract::RawQuery,
) -> Result<Response, PageError> {
    let filter = q.to_filter()?;
    let (sort, desc) = q.to_sort()?;
    let (page, limit) = q.paging()?;
    let result = state
        .registry
        .agreements(&filter, sort, desc, page, limit)
        .await?;
    let params: Vec<(String, String)> =
        form_urlencoded::parse(raw.0.unwrap_or_default().as_bytes())
            .into_owned()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    let current: HashMap<String, String> = params.iter().cloned().collect();
    let link = |replace: &[(&str, String)]| -> String {
        let mut p: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !replace.iter().any(|(r, _)| r == k))
            .cloned()
            .collect();
        p.extend(replace.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p)
            .finish();
        format!("/agreements?{q}")
    };
    let sort_now = current
        .get("sort")
        .cloned()
        .unwrap_or_else(|| "reference".into());
    let sort_links: HashMap<&str, String> = ["reference", "title", "start", "end", "value"]
        .into_iter()
        .map(|k| {
            let next = if sort_now == k {
                format!("-{k}")
            } else {
                k.to_owned()
            };
            (k, link(&[("sort", next), ("page", "1".into())]))
        })
        .collect();
    let pages = result.total.div_ceil(limit).max(1);
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("result", &result);
    ctx.insert("q", &current);
    ctx.insert("sort_now", &sort_now);
    ctx.insert("sort_links", &sort_links);
    ctx.insert(
        "columns",
        &[
            ("reference", "Referens"),
            ("title", "Titel"),
            ("start", "Start"),
            ("end", "Slut"),
            ("value", "Värde (kr)"),
        ]
        .map(|(key, label)| json!({"key": key, "label": label})),
    );
    ctx.insert("pages", &pages);
    ctx.insert(
        "prev_link",
        &(page > 1).then(|| link(&[("page", (page - 1).to_string())])),
    );
    ctx.insert(
        "next_link",
        &(page < pages).then(|| link(&[("page", (page + 1).to_string())])),
    );
    ctx.insert("kinds", &crate::domain::codes::AgreementKind::ALL);
    ctx.insert("statuses", &crate::domain::codes::AgreementStatus::ALL);
    ctx.insert("bases", &crate::domain::codes::LegalBasis::ALL);
    ctx.insert("objectives", &crate::domain::codes::SocialObjective::ALL);
    Ok(render("agreements.html", &ctx, StatusCode::OK))
}

/// What the agreement page shows, beside the agreement: loaded once for the page and for a
/// re-shown page after a refused action.
pub async fn agreement_context(
    state: &AppState,
    user: &Principal,
    csrf: Option<&Csrf>,
    stored: &Stored<Agreement>,
) -> Result<Context, PageError> {
    let reg = &state.registry;
    let a = &stored.data;
    let today = reg.settings.today();
    let derived = Derived::of(a, today, &reg.settings.reminders);
    let dir = crate::registry::documents::directory(reg, a).await?;
    let org_name = |o: &crate::domain::org_number::OrgNumber| {
        dir.organisations
            .get(o)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| o.to_string())
    };
    let parties: Vec<Value> = a
        .parties
        .iter()
        .map(|p| json!({"org": p.org, "name": org_name(&p.org), "role": p.role}))
        .collect();
    let contacts: Vec<Value> = a
        .contacts
        .all()
        .into_iter()
        .map(|(field, e)| {
            json!({"field": field.trim_start_matches("contacts.").split('[').next().unwrap_or_default(), "email": e,
                   "name": dir.contacts.get(e).map(|c| c.name.clone())})
        })
        .collect();
    // The timeline: every dated event, oldest first.
    let mut timeline: Vec<Value> =
        vec![json!({"date": a.period.start, "what": "Avtalet börjar", "kind": "start"})];
    if let Some(d) = &a.decision {
        timeline.push(
            json!({"date": d.date, "what": format!("Beslut: {}", d.body), "kind": "decision"}),
        );
    }
    for o in &derived.options {
        timeline.push(
            json!({"date": o.decide_by, "what": format!("Option {}: sista beslutsdag", o.seq),
                             "state": o.state, "kind": "option"}),
        );
    }
    for o in &a.options {
        if let Some(d) = o.decided_on {
            timeline.push(json!({"date": d, "what": format!("Option {} beslutad", o.seq), "state": o.state, "kind": "option"}));
        }
    }
    for m in &a.amendments {
        timeline.push(
            json!({"date": m.date, "what": format!("Ändring ({})", m.ground.code()),
                             "detail": m.rationale, "kind": "amendment"}),
        );
    }
    if let Some(n) = a.termination.as_ref().and_then(|t| t.notice.as_ref()) {
        timeline.push(
            json!({"date": n.received_on, "what": format!("Uppsägning från {}", org_name(&n.by)),
                             "detail": format!("upphör {}", n.effective_end), "kind": "notice"}),
        );
    }
    for d in &derived.deadlines {
        if let Some(r) = &d.report {
            timeline.push(json!({"date": r.due, "what": format!(
                    "Rapport: {} för perioden till {}",
                    LABELS.get(&r.kind).unwrap_or(&r.kind),
                    r.period_end
                ),
                                 "state": r.state, "kind": "report"}));
        }
    }
    timeline.push(json!({"date": a.period.current_end, "what": "Avtalet slutar (nuvarande slut)", "kind": "end"}));
    let emails: Vec<Value> = reg
        .outbox_of(&a.reference, 50)
        .await?
        .into_iter()
        .map(|m| {
            json!({"date": m.created_at.date_naive(), "what": m.subject, "state": m.state, "kind": "email",
                   "sent_at": m.sent_at.map(|t| t.date_naive())})
        })
        .collect();
    timeline.extend(emails);
    timeline.sort_by(|x, y| x["date"].as_str().cmp(&y["date"].as_str()));
    let today_text = today.to_string();
    for t in &mut timeline {
        let past = t["date"].as_str().is_some_and(|d| *d < *today_text);
        t["past"] = json!(past);
    }
    let docs = crate::registry::documents::list(reg, &a.reference).await?;
    let templates: Vec<Value> = reg
        .renderer
        .catalog()
        .all()
        .iter()
        .filter(|t| t.manifest.kinds.contains(&a.kind))
        .map(|t| json!({"name": t.manifest.name, "title": t.manifest.title}))
        .collect();
    let files = reg.report_files(&a.reference).await?;
    let reports = super::report_pages::rows(user, a, &derived.deadlines, &files);
    let mut ctx = base(Some(user), csrf);
    ctx.insert("reports", &reports);
    ctx.insert("a", a);
    ctx.insert("version", &stored.version);
    ctx.insert("updated_at", &stored.updated_at.date_naive());
    ctx.insert("derived", &derived);
    ctx.insert("parties", &parties);
    ctx.insert("contacts", &contacts);
    ctx.insert("timeline", &timeline);
    ctx.insert("documents", &docs);
    ctx.insert("templates", &templates);
    ctx.insert("today", &today);
    ctx.insert("may_edit", &user.may_edit(a));
    ctx.insert(
        "can_act",
        &(user.may_edit(a) && a.status.came_into_force() && !a.status.allowed_next().is_empty()),
    );
    ctx.insert("grounds", &crate::domain::codes::AmendmentGround::ALL);
    ctx.insert("action_errors", &Vec::<String>::new());
    ctx.insert("message", &None::<String>);
    Ok(ctx)
}

/// Query of the agreement page: a message after an action.
#[derive(Debug, serde::Deserialize)]
pub struct FlashQuery {
    /// Which message to show (`saved`, `action`, ...).
    pub ok: Option<String>,
}

/// `GET /agreements/{reference}`
pub async fn agreement(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
    axum::extract::Query(flash): axum::extract::Query<FlashQuery>,
) -> Result<Response, PageError> {
    let key = Reference::parse(&key).map_err(|_| AppError::NotFound("no such agreement".into()))?;
    let stored = state.registry.agreement(&key).await?;
    let mut ctx = agreement_context(&state, &user, csrf.as_ref().map(|e| &e.0), &stored).await?;
    let message = flash.ok.as_deref().map(|k| match k {
        "saved" => "Avtalet är sparat.",
        "action" => "Åtgärden är registrerad.",
        "document" => "Dokumentet är skapat.",
        "report" => "Tack! Rapporten är inlämnad. Den som följer upp avtalet granskar den.",
        "acknowledged" => {
            "Du har bekräftat påminnelsen. Påminnelserna fortsätter tills rapporten är inlämnad."
        }
        _ => "Klart.",
    });
    ctx.insert("message", &message);
    Ok(render("agreement.html", &ctx, StatusCode::OK))
}

/// `GET /audit`: the change log for admins, officers and auditors, newest first, with the
/// acting user's address beside `user:<id>`.
pub async fn audit_log(
    State(state): State<AppState>,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    ApiQuery(q): ApiQuery<super::audit::AuditQuery>,
    raw: axum::extract::RawQuery,
) -> Result<Response, PageError> {
    let (filter, page, limit) = q.to_filter()?;
    let filter = super::history::resolve_actor(&state, filter).await?;
    let result = state.registry.audit_page(&filter, page, limit).await?;
    let users: HashMap<String, String> = crate::registry::accounts::list_users(&state.registry)
        .await?
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect();
    let params: Vec<(String, String)> =
        form_urlencoded::parse(raw.0.unwrap_or_default().as_bytes())
            .into_owned()
            .filter(|(k, v)| !v.is_empty() && k != "page")
            .collect();
    let link = |p: u64| {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .append_pair("page", &p.to_string())
            .finish();
        format!("/audit?{q}")
    };
    let pages = result.total.div_ceil(limit).max(1);
    let rows: Vec<Value> = result
        .items
        .iter()
        .map(|e| {
            json!({"id": e.id, "at": e.at.format("%Y-%m-%d %H:%M:%S").to_string(), "actor": e.actor,
                   "who": users.get(&e.actor), "action": e.action, "entity_kind": e.entity_kind,
                   "entity_key": e.entity_key, "agreement": e.agreement,
                   "hash": e.hash.get(..12).unwrap_or_default(),
                   "day": super::history::swedish_day(e.at).to_string(),
                   "day_before": super::history::swedish_day(e.at).pred_opt().map(|d| d.to_string())})
        })
        .collect();
    let current: HashMap<String, String> = params.iter().cloned().collect();
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("rows", &rows);
    ctx.insert("total", &result.total);
    ctx.insert("page", &result.page);
    ctx.insert("pages", &pages);
    ctx.insert("q", &current);
    ctx.insert("prev_link", &(page > 1).then(|| link(page - 1)));
    ctx.insert("next_link", &(page < pages).then(|| link(page + 1)));
    Ok(render("audit.html", &ctx, StatusCode::OK))
}

/// Makes `Arc<Ui>` for the router.
pub fn ui(secure_cookies: bool) -> Arc<Ui> {
    Arc::new(Ui { secure_cookies })
}

#[cfg(test)]
mod tests {
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
        ];
        let mut missing = Vec::new();
        for (list, codes) in lists {
            for code in codes {
                let key = list.map_or(code.clone(), |l| format!("{l}:{code}"));
                if !LABELS.contains_key(&key) && !LABELS.contains_key(&code) {
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
