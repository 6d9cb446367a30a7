//! The HTTP edge: one route table, shared state, the JSON API and the pages. Every route passes
//! `auth::guard`, which applies the access policy of `policy`.
//!
//! The files form layers without circles (`scripts/module_graph.sh` checks): this route table
//! on top; the handlers (`api`, `pages`, `forms`, `history`, `links`, ...); then what they share:
//! `ui` (templates, rendering, page errors), `auth`, `extract`, `error` and `state`.

pub mod api;
pub mod audit;
pub mod auth;
pub mod client_addr;
pub mod documents;
pub mod error;
pub mod export;
pub mod extract;
pub mod feeds;
pub mod figures_form;
pub mod forms;
pub mod history;
pub mod limits;
pub mod links;
pub mod openapi;
pub mod outbox;
pub mod outcome_view;
pub mod outcomes_page;
pub mod pages;
pub mod policy;
pub mod report_figures;
pub mod report_files;
pub mod report_pages;
pub mod report_rows;
pub mod server;
pub mod signed_copies;
pub mod state;
pub mod ui;

pub use state::AppState;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use tower_http::trace::TraceLayer;

/// Every URL of the service, in one place.
pub fn router(mut state: AppState) -> Router {
    // Changes are logged as `user:<id>` (`auth::Acting`); `api` only for a handler that does not
    // take the acting user.
    state.registry = state.registry.with_actor("api");
    let limit = state.registry.settings.max_body_bytes;
    let ui = auth::ui(state.registry.settings.secure_cookies());
    // Report files may be larger than other bodies; only their routes take them.
    let upload_limit = limits::upload_limit(&state.registry.settings);
    let api = Router::new()
        .route(
            "/organisations",
            get(api::list_organisations).post(api::create_organisation),
        )
        .route(
            "/organisations/{org_number}",
            get(api::show_organisation).put(api::update_organisation),
        )
        .route(
            "/contacts",
            get(api::list_contacts).post(api::create_contact),
        )
        .route(
            "/contacts/{email}",
            get(api::show_contact).put(api::update_contact),
        )
        .route(
            "/agreements",
            get(api::list_agreements).post(api::create_agreement),
        )
        .route(
            "/agreements/{reference}",
            get(api::show_agreement).put(api::update_agreement),
        )
        .route(
            "/agreements/{reference}/documents",
            get(documents::list_documents).post(documents::create_document),
        )
        .route(
            "/agreements/{reference}/documents/{id}/signed",
            get(signed_copies::show_signed).merge(
                post(signed_copies::upload_signed).layer(DefaultBodyLimit::max(upload_limit)),
            ),
        )
        .route(
            "/agreements/{reference}/documents/{id}/sent",
            post(signed_copies::record_sent),
        )
        .route("/agreements/{reference}/as-of/{date}", get(audit::as_of))
        .route("/agreements/{reference}/diff", get(audit::diff_between))
        .route("/audit", get(audit::list))
        .route("/audit/verify", get(audit::verify))
        .route(
            "/agreements/{reference}/{action}",
            post(api::agreement_action),
        )
        .route("/documents/{id}", get(documents::show_document))
        .route("/templates", get(documents::list_templates))
        .route("/outbox", get(api::list_outbox))
        .route("/outbox/retry", post(outbox::retry_failed))
        .route("/outbox/{id}/retry", post(outbox::retry_message))
        .route("/export", get(export::export))
        .route("/ocds/releases", get(export::ocds_releases))
        .route("/ocds/releases/{reference}", get(export::ocds_release))
        .route("/ocds/records/{reference}", get(export::ocds_record))
        .route(
            "/contacts/{email}/calendar-feed",
            post(feeds::create_feed).delete(feeds::revoke_feed),
        )
        .route(
            "/agreements/{reference}/report-files",
            get(report_files::list_report_files),
        )
        .route(
            "/agreements/{reference}/reports/{report}/{period_end}/file",
            get(report_files::show_report_file).merge(
                post(report_files::upload_report_file).layer(DefaultBodyLimit::max(upload_limit)),
            ),
        )
        .route(
            "/agreements/{reference}/reports/{report}/{period_end}/figures",
            get(report_figures::csv_template).post(report_figures::submit_api),
        )
        .route("/openapi.json", get(openapi::openapi));
    let web = Router::new()
        .route("/", get(pages::start))
        .route("/deadlines", get(pages::start))
        .route("/outcomes", get(outcomes_page::follow_up))
        .route("/audit", get(history::audit_log))
        .route("/audit/verify", get(history::verify_page))
        .route("/audit/export.csv", get(history::export_csv))
        .route("/agreements/{reference}/as-of", get(history::as_of_page))
        .route("/agreements/{reference}/diff", get(history::diff_page))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/static/avtal.css", get(pages::stylesheet))
        .route("/agreements", get(pages::agreements))
        .route(
            "/agreements/new",
            get(forms::agreement::new_form).post(forms::agreement::create),
        )
        .route("/agreements/{reference}", get(pages::agreement))
        .route(
            "/organisations/{org_number}/edit",
            get(forms::organisation::edit_form).post(forms::organisation::update),
        )
        .route(
            "/agreements/{reference}/edit",
            get(forms::agreement::edit_form).post(forms::agreement::update),
        )
        .route(
            "/agreements/{reference}/do/{action}",
            post(forms::actions::act),
        )
        .route(
            "/agreements/{reference}/documents",
            post(forms::actions::generate_document),
        )
        .route(
            "/agreements/{reference}/documents/{id}/signed",
            get(signed_copies::show_signed).merge(
                post(forms::signed::upload_signed_page).layer(DefaultBodyLimit::max(upload_limit)),
            ),
        )
        .route(
            "/agreements/{reference}/documents/{id}/sent",
            post(forms::signed::record_sent_page),
        )
        .route(
            "/agreements/{reference}/reports/{report}/{period_end}/file",
            get(report_files::show_report_file)
                .merge(post(report_pages::upload).layer(DefaultBodyLimit::max(upload_limit))),
        )
        .route(
            "/agreements/{reference}/reports/{report}/{period_end}/acknowledge",
            post(report_pages::acknowledge),
        )
        .route(
            "/agreements/{reference}/reports/{report}/{period_end}/figures",
            get(report_figures::show)
                .merge(post(report_figures::submit).layer(DefaultBodyLimit::max(upload_limit))),
        )
        .route(
            "/agreements/{reference}/reports/{report}/{period_end}/figures.csv",
            get(report_figures::csv_template),
        )
        .route("/documents/{id}", get(documents::show_document))
        .route(
            "/tokens",
            get(forms::tokens::tokens).post(forms::tokens::create_token),
        )
        .route("/tokens/{id}/revoke", post(forms::tokens::revoke_token))
        .route("/admin/users", get(forms::users::admin_users))
        .route("/admin/users/disable", post(forms::users::disable_user))
        .route("/outbox", get(outbox::outbox_page))
        .route("/outbox/retry", post(outbox::retry_failed_page))
        .route("/outbox/{id}/retry", post(outbox::retry_message_page));
    // Public routes, authenticated by the token in the URL (signed link or feed token).
    let public = Router::new()
        .route("/l/{token}", get(links::show_link))
        .route("/l/{token}/acknowledge", post(links::acknowledge))
        .route(
            "/l/{token}/report",
            post(links::upload_report).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/calendar/{file}", get(feeds::show_calendar));
    Router::new()
        .route("/health", get(api::health))
        .merge(web)
        .nest("/api/v1", api)
        .merge(public)
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(Extension(ui))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit_body,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // The path without the tokens of links and calendar feeds.
                tracing::debug_span!(
                    "request",
                    method = %req.method(),
                    path = %links::loggable_path(req.uri().path()),
                )
            }),
        )
        .with_state(state)
}
