//! The action forms on the agreement page: exercise or decline an option, record a notice or
//! an amendment, activate or cancel, accept or reject a handed-in report, and generate a
//! document. A refusal re-shows the agreement page with each broken rule in Swedish.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::body;
use crate::documents::DocumentRequest;
use crate::domain::access::Principal;
use crate::domain::agreement::{Amendment, Reference};
use crate::domain::codes::AmendmentGround;
use crate::domain::dates::parse_iso_date;
use crate::domain::money::Sek;
use crate::domain::org_number::OrgNumber;
use crate::domain::party::Violation;
use crate::registry::{AgreementAction, RegistryError, StoreError};
use crate::web::auth::Acting;
use crate::web::error::AppError;
use crate::web::pages;
use crate::web::state::AppState;
use crate::web::ui::Csrf;
use crate::web::ui::{PageError, render, rule_sv};

/// The inputs of the action forms; each action reads the ones it needs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    /// The version the page was read at.
    version: String,
    /// The option's sequence number.
    seq: String,
    decided_on: String,
    rationale: String,
    /// The organisation giving notice.
    by: String,
    received_on: String,
    reason: String,
    /// The report's kind.
    report: String,
    period_end: String,
    /// The amendment's date, ground and changes.
    date: String,
    ground: String,
    value_change_sek: String,
    new_end: String,
}

fn given(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

fn date(name: &str, v: &str) -> Result<Option<NaiveDate>, Violation> {
    if v.is_empty() {
        return Ok(None);
    }
    parse_iso_date(v)
        .map(Some)
        .map_err(|_| Violation::new(name, v, "date", "not a date"))
}

fn required_date(name: &str, v: &str) -> Result<NaiveDate, Violation> {
    date(name, v)?.ok_or_else(|| Violation::new(name, "", "required", "required"))
}

impl ActionForm {
    fn seq(&self) -> Result<u32, Violation> {
        self.seq
            .parse()
            .map_err(|_| Violation::new("seq", &self.seq, "choice", "no option"))
    }

    /// The registry's command for `action`.
    fn action(&self, action: &str) -> Result<AgreementAction, Vec<Violation>> {
        Ok(match action {
            "activate" => AgreementAction::Activate,
            "cancel" => AgreementAction::Cancel,
            "exercise-option" => AgreementAction::ExerciseOption {
                seq: self.seq().map_err(|v| vec![v])?,
                decided_on: date("decided_on", &self.decided_on).map_err(|v| vec![v])?,
                rationale: given(&self.rationale),
            },
            "decline-option" => AgreementAction::DeclineOption {
                seq: self.seq().map_err(|v| vec![v])?,
                decided_on: date("decided_on", &self.decided_on).map_err(|v| vec![v])?,
            },
            "notice" => AgreementAction::RecordNotice {
                by: OrgNumber::parse(&self.by).map_err(|e| {
                    vec![Violation::new("by", &self.by, "org_number", e.to_string())]
                })?,
                received_on: required_date("received_on", &self.received_on)
                    .map_err(|v| vec![v])?,
                reason: given(&self.reason),
                under: None,
            },
            "accept-report" => AgreementAction::AcceptReport {
                report: self.report.clone(),
                period_end: required_date("period_end", &self.period_end).map_err(|v| vec![v])?,
                decided_on: date("decided_on", &self.decided_on).map_err(|v| vec![v])?,
            },
            "reject-report" => AgreementAction::RejectReport {
                report: self.report.clone(),
                period_end: required_date("period_end", &self.period_end).map_err(|v| vec![v])?,
                reason: self.reason.clone(),
                decided_on: date("decided_on", &self.decided_on).map_err(|v| vec![v])?,
            },
            "amendments" => AgreementAction::RecordAmendment {
                amendment: self.amendment()?,
            },
            _ => {
                return Err(vec![Violation::new(
                    "action",
                    action,
                    "choice",
                    "no such action",
                )]);
            }
        })
    }

    /// The amendment the form records, with every input that does not parse.
    fn amendment(&self) -> Result<Amendment, Vec<Violation>> {
        let mut errors = Vec::new();
        let day = match date("date", &self.date) {
            Ok(Some(d)) => Some(d),
            _ => {
                errors.push(Violation::new("date", &self.date, "date", "not a date"));
                None
            }
        };
        if self.rationale.is_empty() {
            errors.push(Violation::new("rationale", "", "required", "required"));
        }
        let ground = AmendmentGround::parse(&self.ground)
            .map_err(|e| errors.push(Violation::new("ground", &self.ground, "choice", e)))
            .ok();
        let value_change_sek = given(&self.value_change_sek).and_then(|v| {
            Sek::parse(&v)
                .map_err(|_| {
                    errors.push(Violation::new(
                        "value_change_sek",
                        &v,
                        "number",
                        "not an amount",
                    ))
                })
                .ok()
        });
        let new_end = date("new_end", &self.new_end)
            .map_err(|v| errors.push(v))
            .ok()
            .flatten();
        match (day, ground) {
            (Some(date), Some(ground)) if errors.is_empty() => Ok(Amendment {
                date,
                ground,
                rationale: self.rationale.clone(),
                value_change_sek,
                new_end,
                option_seq: None,
            }),
            _ => Err(errors),
        }
    }
}

/// The agreement page again, with `violations` above its action forms.
/// The agreement page again with the Swedish text of `violations` (422).
pub async fn reshow_agreement(
    state: &AppState,
    user: &Principal,
    csrf: Option<&Csrf>,
    key: &Reference,
    violations: &[Violation],
) -> Result<Response, PageError> {
    let stored = state.registry.agreement(key).await?;
    // Only those who may change the agreement hear what was wrong with their action.
    state.registry.ensure_may_edit(&stored.data)?;
    let mut ctx = pages::agreement_context(state, user, csrf, &stored).await?;
    let errors: Vec<String> = violations
        .iter()
        .map(|v| format!("{} ({})", rule_sv(v), v.field))
        .collect();
    ctx.insert("action_errors", &errors);
    Ok(render(
        "agreement.html",
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

fn reference(key: &str) -> Result<Reference, PageError> {
    Reference::parse(key).map_err(|_| PageError(AppError::NotFound("no such agreement".into())))
}

/// `POST /agreements/{reference}/do/{action}`: exercise or decline an option, record a notice
/// or an amendment, activate or cancel, accept or reject a handed-in report, at the version the
/// page was read at.
pub async fn act(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path((key, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let key = reference(&key)?;
    let form: ActionForm = body::parse(&body)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    let version = form.version.parse().ok();
    let cmd = match form.action(&action) {
        Ok(c) => c,
        Err(v) => return reshow_agreement(&state, &user, csrf, &key, &v).await,
    };
    match state.registry.act(&key, version, cmd).await {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{key}?ok=action")).into_response()),
        Err(RegistryError::Invalid(v)) => reshow_agreement(&state, &user, csrf, &key, &v).await,
        Err(RegistryError::Store(StoreError::Stale { .. })) => {
            let v = [Violation::new("version", "", "stale", "stale")];
            reshow_agreement(&state, &user, csrf, &key, &v).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The document form: which contract template to render.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DocumentForm {
    /// The template's name.
    template: String,
}

/// `POST /agreements/{reference}/documents`: renders a template's PDF and stores it.
pub async fn generate_document(
    Acting(state): Acting,
    Extension(user): Extension<Principal>,
    csrf: Option<Extension<Csrf>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let key = reference(&key)?;
    let form: DocumentForm = body::parse(&body)?;
    let csrf = csrf.as_ref().map(|e| &e.0);
    let req = DocumentRequest {
        template: form.template,
        ..DocumentRequest::default()
    };
    match crate::registry::documents::generate(&state.registry, &key, &req, &state.registry.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{key}?ok=document")).into_response()),
        Err(e) => match AppError::from(e) {
            AppError::Invalid(v) => reshow_agreement(&state, &user, csrf, &key, &v).await,
            other => Err(PageError(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amendment_names_every_input_that_does_not_parse() {
        let form = ActionForm {
            date: "igår".into(),
            ground: "17:99".into(),
            value_change_sek: "mycket".into(),
            new_end: "2027-13-01".into(),
            ..ActionForm::default()
        };
        let fields: Vec<String> = match form.action("amendments") {
            Err(v) => v.into_iter().map(|v| v.field).collect(),
            Ok(a) => panic!("{a:?}"),
        };
        assert_eq!(
            fields,
            ["date", "rationale", "ground", "value_change_sek", "new_end"]
        );
    }

    #[test]
    fn a_complete_amendment_becomes_the_registry_command() {
        let form = ActionForm {
            date: "2027-01-10".into(),
            ground: "17:14".into(),
            rationale: "Ny lokal".into(),
            value_change_sek: "12000".into(),
            ..ActionForm::default()
        };
        match form.action("amendments") {
            Ok(AgreementAction::RecordAmendment { amendment }) => {
                assert_eq!(amendment.ground, AmendmentGround::NonSubstantial);
                assert_eq!(
                    amendment.value_change_sek.map(|s| s.to_string()).as_deref(),
                    Some("12000.00")
                );
                assert_eq!(amendment.new_end, None);
            }
            other => panic!("{other:?}"),
        }
    }
}
