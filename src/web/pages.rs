//! The read-only pages in Swedish: the start page with deadlines, the agreement list and the
//! agreement page (whose context the action forms re-show), and the stylesheet. Templates,
//! rendering and error pages are in `ui`; forms, and the token and user pages, in `forms`; the
//! change log and the other auditor's pages in `history`.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use tera::Context;

use super::api::{AgreementListQuery, Derived};
use super::auth::Acting;
use super::error::AppError;
use super::state::AppState;
use super::ui::{Csrf, PageError, PageParams, base, label_sv, render};
use crate::domain::access::{Principal, Role};
use crate::domain::agreement::{Agreement, Reference};
use crate::domain::deadlines::DeadlineState;
use crate::registry::Stored;

/// The stylesheet, served at `/static/avtal.css`.
pub const STYLESHEET: &str = include_str!("../../templates/web/avtal.css");

/// Every URL no route takes: the Swedish not-found page for a browser (a request that accepts
/// HTML outside `/api/`), the JSON error everywhere else.
pub async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        super::ui::error_page(StatusCode::NOT_FOUND, None)
    } else {
        AppError::NotFound("no such page".into()).into_response()
    }
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

/// The start page's failed e-mails (up to 50): none for enterprise users; an officer's only of
/// its own organisation's agreements (`party`).
async fn failed_messages(
    reg: &crate::registry::Registry,
    user: &Principal,
    party: Option<&crate::domain::org_number::OrgNumber>,
) -> Result<Vec<Value>, crate::registry::RegistryError> {
    if user.role == Role::Enterprise {
        return Ok(Vec::new());
    }
    let messages = reg
        .outbox(Some(crate::registry::reminders::OutboxState::Failed), 50)
        .await?;
    let in_scope = match party {
        None => None,
        Some(org) => {
            let refs: Vec<String> = messages.iter().map(|m| m.reference.clone()).collect();
            Some(reg.references_of_party(Some(org), &refs).await?)
        }
    };
    Ok(messages
        .into_iter()
        .filter(|m| in_scope.as_ref().is_none_or(|s| s.contains(&m.reference)))
        .map(|m| {
            json!({"reference": m.reference, "kind": m.kind, "subject": m.subject,
                   "attempts": m.attempts, "error": m.last_error, "created_at": m.created_at.date_naive()})
        })
        .collect())
}

/// `GET /` and `GET /deadlines`: deadlines of the next 90 days (the user's organisation's
/// agreements for officers and enterprise users), overdue ones and failed e-mails first.
pub async fn start(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
) -> Result<Response, PageError> {
    let reg = &state.registry;
    let today = reg.settings.today();
    let horizon = today + chrono::Duration::days(90);
    let party = own_scope(&user);
    // The failed messages are read beside the deadlines, on a connection of their own.
    let (found, failed) = tokio::try_join!(
        reg.start_deadlines(party.as_ref(), today, horizon),
        failed_messages(reg, &user, party.as_ref())
    )?;
    let mut rows = Vec::new();
    for p in &found.deadlines {
        let d = &p.deadline;
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
        // An enterprise user hands in the open reports its organisation is responsible for.
        let hands_in = user.role == Role::Enterprise
            && user.org.is_some()
            && p.responsible.as_ref() == user.org.as_ref();
        rows.push(DeadlineRow {
            reference: d.reference.to_string(),
            title: p.title.clone(),
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
                .filter(|_| hands_in)
                .map(|_| format!("/agreements/{}#h-reports", d.reference)),
        });
    }
    let behind: Vec<Value> = found
        .behind
        .iter()
        .map(|b| json!({"reference": b.reference, "title": b.title}))
        .collect();
    rows.sort_by_key(|r| (r.urgency != "overdue", r.date));
    let (overdue, upcoming): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.urgency == "overdue");
    let mut ctx = base(Some(&user), csrf.as_ref().map(|e| &e.0));
    ctx.insert("today", &today);
    ctx.insert("horizon", &horizon);
    ctx.insert("overdue", &overdue);
    ctx.insert("upcoming", &upcoming);
    ctx.insert("failed", &failed);
    ctx.insert("behind", &behind);
    Ok(render("start.html", &ctx, StatusCode::OK))
}

/// `GET /agreements`: the API's filters, sorting and paging as a page (an enterprise user's
/// `party` is fixed to its organisation by the guard).
pub async fn agreements(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    PageParams(q): PageParams<AgreementListQuery>,
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
    let sort_now = current.get("sort").cloned().unwrap_or_else(|| {
        if filter.search().is_some() {
            "relevance".into()
        } else {
            "reference".into()
        }
    });
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
        .map(|p| {
            let o = dir.organisations.get(&p.org);
            let address = o.and_then(|o| o.address.as_ref());
            json!({"org": p.org, "name": org_name(&p.org), "role": p.role, "unit": p.unit,
                   "address": address,
                   "work_integration": o.is_some_and(|o| o.is_work_integration()),
                   "idea_based": o.is_some_and(|o| o.is_idea_based())})
        })
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
    if let Some(n) = a.tacit_renewal.as_ref().and_then(|r| r.notice.as_ref()) {
        timeline.push(
            json!({"date": n.received_on, "what": format!("Uppsägning mot förlängning från {}", org_name(&n.by)),
                             "detail": format!("upphör {}", n.effective_end), "kind": "notice"}),
        );
    }
    for d in &derived.deadlines {
        if let Some(r) = &d.report {
            timeline.push(json!({"date": r.due, "what": format!(
                    "Rapport: {} för perioden till {}",
                    label_sv(None, &r.kind),
                    r.period_end
                ),
                                 "state": r.state, "kind": "report"}));
        }
    }
    timeline.push(json!({"date": derived.current_end, "what": "Avtalet slutar (nuvarande slut)", "kind": "end"}));
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
    let signed = reg.signed_copies(&a.reference).await?;
    let requests = reg.signature_requests(&a.reference).await?;
    // Who recorded a sending: the user's address for `user:<id>`, else the actor as logged.
    let users: HashMap<String, String> = if requests.is_empty() {
        HashMap::new()
    } else {
        crate::registry::accounts::list_users(reg)
            .await?
            .into_iter()
            .map(|u| (format!("user:{}", u.id), u.email))
            .collect()
    };
    let who = |actor: &str| {
        users
            .get(actor)
            .cloned()
            .unwrap_or_else(|| actor.to_owned())
    };
    let docs: Vec<Value> = crate::registry::documents::list(reg, &a.reference)
        .await?
        .into_iter()
        .map(|d| {
            let copy = signed.iter().find(|c| c.document_id == d.id);
            let sent: Vec<Value> = requests
                .iter()
                .filter(|r| r.document_id == d.id)
                .map(|r| {
                    json!({"sent_on": r.sent_on, "method": r.method, "sent_to": r.sent_to,
                           "by": who(&r.sent_by)})
                })
                .collect();
            let state = super::documents::signature_state(!sent.is_empty(), copy.is_some());
            json!({"doc": d, "signed": copy, "sent": sent, "state": state})
        })
        .collect();
    // What each template still lacks, shown beside its button before anyone presses it.
    let templates = crate::registry::documents::readiness(reg, stored, &dir);
    let files = reg.report_files(&a.reference).await?;
    let reports = super::report_rows::rows(user, a, &derived.deadlines, &files);
    let mut ctx = base(Some(user), csrf);
    ctx.insert("reports", &reports);
    ctx.insert("outcomes", &super::outcome_view::views(a, today));
    ctx.insert("a", a);
    ctx.insert("version", &stored.version);
    ctx.insert("updated_at", &stored.updated_at.date_naive());
    ctx.insert("derived", &derived);
    ctx.insert("parties", &parties);
    ctx.insert("send_methods", crate::domain::codes::SendMethod::ALL);
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
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
    PageParams(flash): PageParams<FlashQuery>,
) -> Result<Response, PageError> {
    let key = Reference::parse(&key).map_err(|_| AppError::NotFound("no such agreement".into()))?;
    let stored = state.registry.agreement(&key).await?;
    let mut ctx = agreement_context(&state, &user, csrf.as_ref().map(|e| &e.0), &stored).await?;
    let message = flash.ok.as_deref().map(|k| match k {
        "saved" => "Avtalet är sparat.",
        "action" => "Åtgärden är registrerad.",
        "document" => "Dokumentet är skapat.",
        "signed" => "Det undertecknade exemplaret är sparat.",
        "sent" => "Det är registrerat att dokumentet skickats för underskrift.",
        "report" => "Tack! Rapporten är inlämnad. Den som följer upp avtalet granskar den.",
        "figures" => "De rättade siffrorna är sparade.",
        "acknowledged" => {
            "Du har bekräftat påminnelsen. Påminnelserna fortsätter tills rapporten är inlämnad."
        }
        _ => "Klart.",
    });
    ctx.insert("message", &message);
    Ok(render("agreement.html", &ctx, StatusCode::OK))
}
