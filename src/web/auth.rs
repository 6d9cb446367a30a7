//! Who is calling, and may they: the `guard` middleware on the whole router authenticates each
//! request (API token or session cookie), applies the role table of `policy` and checks the CSRF
//! token of every state-changing cookie request. What a user may read or change of an agreement
//! is the registry's rule, checked once in each use case through the handle that [`Acting`]
//! gives a handler. Also the login and logout handlers (with the login rate limit of
//! `accounts`).

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::AppError;
use super::policy::{self, Rule};
use super::state::AppState;
use super::ui::{self, Csrf, PageError, PageParams, refuse};
use crate::domain::access::{Principal, Role};
use crate::domain::agreement::Reference;
use crate::registry::accounts;
use crate::registry::{self, RegistryError};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "avtal_session";
/// Name of the CSRF form field (or the `x-csrf-token` header).
pub const CSRF_FIELD: &str = "csrf";
/// Name of the login form's pre-session token cookie (a double-submit cookie: the login form
/// carries the same value, which a forged cross-site form cannot know).
pub const LOGIN_COOKIE: &str = "avtal_login";
/// How long a login form's token lasts.
const LOGIN_TOKEN_SECONDS: i64 = 2 * 3600;

/// What the pages share besides the registry: the cookie policy.
#[derive(Debug, Default)]
pub struct Ui {
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
}

/// Makes `Arc<Ui>` for the router.
pub fn ui(secure_cookies: bool) -> Arc<Ui> {
    Arc::new(Ui { secure_cookies })
}

/// The registry acting for the signed-in user (audit actor `user:<id>`, edit scope checked).
#[derive(Debug, Clone)]
pub struct Acting(pub AppState);

impl FromRequestParts<AppState> for Acting {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = parts
            .extensions
            .get::<Principal>()
            .ok_or(AppError::Unauthorized)?;
        Ok(Acting(AppState {
            registry: state.registry.as_user(user),
        }))
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Reads the CSRF token of a cookie request: the `x-csrf-token` header, else the `csrf` field
/// of a URL-encoded or multipart form (the body is read, up to `limit`, and put back); `None`
/// in place of the request when the body is larger than `limit`.
async fn sent_csrf(req: Request, limit: usize) -> (Option<Request>, Option<String>) {
    if let Some(v) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        let v = v.to_owned();
        return (Some(req), Some(v));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let multipart = content_type.starts_with("multipart/form-data");
    if !form && !multipart {
        return (Some(req), None);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return (None, None);
    };
    let token = if form {
        form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.into_owned())
    } else {
        multipart_field(&bytes, CSRF_FIELD)
    };
    (Some(Request::from_parts(parts, Body::from(bytes))), token)
}

/// The value of a short text field `name` of a multipart body (the part's content up to its
/// line end); enough for the 64 hex digits of a form token.
fn multipart_field(body: &[u8], name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = body
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())?;
    let rest = &body[at + marker.len()..];
    let start = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let value = &rest[start..];
    let end = value.windows(2).position(|w| w == b"\r\n")?;
    String::from_utf8(value[..end].to_vec()).ok()
}

/// Constant-time comparison of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn path_param<'a>(pattern: &str, path: &'a str, name: &str) -> Option<&'a str> {
    let want = format!("{{{name}}}");
    pattern
        .split('/')
        .zip(path.split('/'))
        .find(|(p, _)| *p == want)
        .map(|(_, v)| v)
}

/// The middleware on every route: authenticate, apply the role table, check CSRF.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match guarded(state, req, next).await {
        Ok(r) | Err(r) => r,
    }
}

async fn guarded(state: AppState, mut req: Request, next: Next) -> Result<Response, Response> {
    let path = req.uri().path().to_owned();
    let pattern = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let rule = policy::rule(req.method(), pattern.as_deref());
    let reg = &state.registry;
    let internal = |e: RegistryError| AppError::from(e).into_response();

    // Who is calling: an API token wins over a session cookie.
    let mut session_csrf = None;
    let user = if let Some(token) = bearer(req.headers()) {
        let found = accounts::token_user(reg, token).await.map_err(internal)?;
        if found.is_none() && rule != Rule::Public {
            return Err(AppError::Unauthorized.into_response());
        }
        found
    } else if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        match accounts::session_user(reg, &token)
            .await
            .map_err(internal)?
        {
            Some((p, csrf)) => {
                session_csrf = Some(csrf);
                Some(p)
            }
            None => None,
        }
    } else {
        None
    };

    if rule != Rule::Public {
        let Some(user) = &user else {
            return Err(refuse(&path, StatusCode::UNAUTHORIZED, ""));
        };
        if !policy::allows(rule, user.role) {
            // An enterprise user learns nothing of an agreement outside its scope, not even
            // that a route of it exists for other roles: the same 404 as a missing one.
            if user.role == Role::Enterprise
                && let Some(pattern) = &pattern
                && outside_scope(&state, user, pattern, &path).await?
            {
                return Err(refuse(&path, StatusCode::NOT_FOUND, "no such agreement"));
            }
            return Err(refuse(
                &path,
                StatusCode::FORBIDDEN,
                &format!("the role {} may not do this", user.role),
            ));
        }
    }

    // CSRF: every state-changing request authenticated by the cookie carries the session's
    // token. Public routes (the login form, signed links) do not act as the session's user.
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(expected) = &session_csrf
        && !safe
        && rule != Rule::Public
        && bearer(req.headers()).is_none()
    {
        // A report file may be larger than other bodies (its route allows that much).
        let limit = super::limits::body_limit(&reg.settings, pattern.as_deref());
        let (back, sent) = sent_csrf(req, limit).await;
        let Some(back) = back else {
            return Err(refuse(&path, StatusCode::PAYLOAD_TOO_LARGE, ""));
        };
        req = back;
        if !sent.is_some_and(|s| same(&s, expected)) {
            return Err(refuse(
                &path,
                StatusCode::FORBIDDEN,
                "the form's security token is missing or stale; reload the page",
            ));
        }
    }

    if let Some(user) = user {
        req.extensions_mut().insert(user);
    }
    if let Some(csrf) = session_csrf {
        req.extensions_mut().insert(Csrf(csrf));
    }
    Ok(next.run(req).await)
}

/// Whether the route names an agreement (by its `{reference}`, or a stored document's by `{id}`)
/// that `user` may not read, or one that does not exist. Asked only to choose the answer to a
/// refused request: 404 rather than 403 for an enterprise user, which learns nothing of
/// agreements outside its scope. The rule itself is the registry's.
async fn outside_scope(
    state: &AppState,
    user: &Principal,
    pattern: &str,
    path: &str,
) -> Result<bool, Response> {
    let reg = state.registry.as_user(user);
    let internal = |e: RegistryError| AppError::from(e).into_response();
    let raw = if let Some(raw) = path_param(pattern, path, "reference") {
        raw.to_owned()
    } else if pattern.ends_with("/documents/{id}")
        && let Some(id) = path_param(pattern, path, "id").and_then(|s| s.parse::<i64>().ok())
    {
        match registry::documents::reference_of(&reg, id)
            .await
            .map_err(internal)?
        {
            Some(r) => r,
            None => return Ok(true),
        }
    } else {
        return Ok(false);
    };
    let Ok(key) = Reference::parse(&raw) else {
        return Ok(true);
    };
    Ok(!reg.may_see_agreement(&key).await.map_err(internal)?)
}

/// The login form.
#[derive(Debug)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The login form's token: the browser's current one, or a new one (then also set as cookie).
fn login_token(headers: &HeaderMap) -> Result<(String, bool), AppError> {
    match cookie(headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(t) => Ok((t, false)),
        None => Ok((accounts::new_secret()?, true)),
    }
}

/// The login page with `token` in its form, setting the token cookie when it is new.
fn login_response(
    ui: &Ui,
    token: &str,
    fresh: bool,
    email: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut resp = ui::login(email, next, token, error, status);
    // The form holds this browser's login token: no cache may keep it for another.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if fresh {
        let mut c = format!(
            "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={LOGIN_TOKEN_SECONDS}"
        );
        if ui.secure_cookies {
            c.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `GET /login`
pub async fn login_page(
    Extension(ui): Extension<Arc<Ui>>,
    headers: HeaderMap,
    PageParams(q): PageParams<NextQuery>,
) -> Result<Response, PageError> {
    let (token, fresh) = login_token(&headers)?;
    Ok(login_response(
        &ui,
        &token,
        fresh,
        "",
        &safe_next(q.next.as_deref()),
        None,
        StatusCode::OK,
    ))
}

/// `POST /login`: a generic error on any failure; attempts are limited per account and address.
pub async fn login(
    State(state): State<AppState>,
    Extension(ui): Extension<Arc<Ui>>,
    req: Request,
) -> Result<Response, AppError> {
    let ip = super::client_addr::client_addr(
        req.extensions(),
        req.headers(),
        &state.registry.settings.trusted_proxies,
    );
    let sent_cookie = cookie(req.headers(), LOGIN_COOKIE);
    let (token, fresh) = login_token(req.headers())?;
    let body = axum::body::to_bytes(req.into_body(), 16 * 1024)
        .await
        .unwrap_or_default();
    // Missing fields are an ordinary failed login, not a malformed request.
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let f = LoginForm {
        email: field("email").unwrap_or_default(),
        password: field("password").unwrap_or_default(),
        next: field("next"),
    };
    let next = safe_next(f.next.as_deref());
    // Login CSRF: the form's token must match the browser's token cookie, so another site
    // cannot sign the browser in to an account of its choosing.
    let form_token = field(CSRF_FIELD).unwrap_or_default();
    if !sent_cookie.is_some_and(|c| !form_token.is_empty() && same(&c, &form_token)) {
        return Ok(login_response(
            &ui,
            &token,
            fresh,
            &f.email,
            &next,
            Some("Inloggningsformuläret har gått ut. Försök igen."),
            StatusCode::FORBIDDEN,
        ));
    }
    let account = f.email.trim().to_lowercase();
    if account.contains('\0') || f.password.contains('\0') {
        return Ok(login_response(
            &ui,
            &token,
            fresh,
            "",
            &next,
            Some("E-postadressen och lösenordet får inte innehålla tecknet NUL (U+0000)."),
            StatusCode::BAD_REQUEST,
        ));
    }
    if !accounts::login_allowed(&state.registry, &account, &ip).await? {
        return Ok(login_response(
            &ui,
            &token,
            fresh,
            &f.email,
            &next,
            Some("För många misslyckade inloggningar. Vänta en kvart och försök igen."),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let Some(user) = accounts::authenticate(&state.registry, &account, &f.password).await? else {
        accounts::login_failed(&state.registry, &account, &ip).await?;
        return Ok(login_response(
            &ui,
            &token,
            fresh,
            &f.email,
            &next,
            Some("Fel e-postadress eller lösenord."),
            StatusCode::UNAUTHORIZED,
        ));
    };
    accounts::login_succeeded(&state.registry, &account).await?;
    let session = accounts::start_session(&state.registry, &user).await?;
    let mut cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        session.token,
        accounts::SESSION_HOURS * 3600
    );
    if ui.secure_cookies {
        cookie.push_str("; Secure");
    }
    let mut resp = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    // The login token has done its work: a new one is made for the next login form.
    let mut spent = format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0");
    if ui.secure_cookies {
        spent.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&spent) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /logout`: deletes the session and the cookie.
pub async fn logout(
    State(state): State<AppState>,
    Extension(ui): Extension<Arc<Ui>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        accounts::end_session(&state.registry, &token).await?;
    }
    let mut clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if ui.secure_cookies {
        clear.push_str("; Secure");
    }
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/agreements")), "/agreements");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_form_token_is_found_in_a_multipart_body() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc123\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.pdf\"\r\n\r\n%PDF\r\n--b--\r\n";
        assert_eq!(multipart_field(body, "csrf").as_deref(), Some("abc123"));
        assert_eq!(multipart_field(body, "other"), None);
    }

    #[test]
    fn path_parameters_are_read_by_the_pattern() {
        assert_eq!(
            path_param(
                "/api/v1/agreements/{reference}/diff",
                "/api/v1/agreements/AGR-1/diff",
                "reference"
            ),
            Some("AGR-1")
        );
    }
}
