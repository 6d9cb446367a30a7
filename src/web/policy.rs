//! The access policy: which roles may call which route, in one table, applied to every request
//! by `auth::guard` before any handler runs. A route missing from the table is refused (outside
//! `/api/v1`, whose defaults are: reads for admin, officer and auditor; writes for admin and
//! officer). What a user reaches of the allowed routes is the registry's rule, checked in each use
//! case: an enterprise user reads only its organisation's agreements (`Registry::ensure_may_read`,
//! the list filter), an officer changes only its organisation's (`Registry::ensure_may_edit`).

use axum::http::Method;

use crate::domain::access::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Signed-in users with one of these roles.
    Roles(&'static [Role]),
    /// Nobody (a route the table does not know).
    Nobody,
}

use Role::{Admin, Auditor, Enterprise, Officer};

/// Every role.
pub const EVERYONE: &[Role] = &[Admin, Officer, Auditor, Enterprise];
/// The roles that read the whole registry.
pub const READERS: &[Role] = &[Admin, Officer, Auditor];
/// The roles that administer accounts.
pub const ADMINS: &[Role] = &[Admin];
/// The roles that change agreements.
pub const WRITERS: &[Role] = &[Admin, Officer];

/// The roles that hand in reports on the pages (officers use the API's upload).
pub const REPORTERS: &[Role] = &[Enterprise];

/// The roles that enter figures of a report: the agreement's officers and the reporting
/// enterprise (the registry tells them apart).
pub const FIGURES: &[Role] = &[Admin, Officer, Enterprise];

/// The table: method (`*` for any), route pattern as in `web::router`, rule.
pub const TABLE: &[(&str, &str, Rule)] = &[
    ("GET", "/health", Rule::Public),
    ("GET", "/static/avtal.css", Rule::Public),
    ("GET", "/login", Rule::Public),
    ("POST", "/login", Rule::Public),
    ("POST", "/logout", Rule::SignedIn),
    // Pages; an enterprise user's agreements and documents are scoped to its organisation.
    ("GET", "/", Rule::SignedIn),
    ("GET", "/agreements", Rule::SignedIn),
    ("GET", "/agreements/new", Rule::Roles(WRITERS)),
    ("POST", "/agreements/new", Rule::Roles(WRITERS)),
    ("GET", "/agreements/{reference}", Rule::SignedIn),
    ("GET", "/agreements/{reference}/edit", Rule::Roles(WRITERS)),
    // A party's postal address, kept on the organisation (as `PUT /api/v1/organisations`).
    (
        "GET",
        "/organisations/{org_number}/edit",
        Rule::Roles(WRITERS),
    ),
    (
        "POST",
        "/organisations/{org_number}/edit",
        Rule::Roles(WRITERS),
    ),
    ("POST", "/agreements/{reference}/edit", Rule::Roles(WRITERS)),
    (
        "POST",
        "/agreements/{reference}/do/{action}",
        Rule::Roles(WRITERS),
    ),
    (
        "POST",
        "/agreements/{reference}/documents",
        Rule::Roles(WRITERS),
    ),
    // The signed copy of a generated document: uploaded by the agreement's officers, read by
    // whoever reads the agreement (scoped like it).
    (
        "POST",
        "/agreements/{reference}/documents/{id}/signed",
        Rule::Roles(WRITERS),
    ),
    (
        "GET",
        "/agreements/{reference}/documents/{id}/signed",
        Rule::SignedIn,
    ),
    // That a generated document was sent for signature: recorded by the agreement's officers.
    (
        "POST",
        "/agreements/{reference}/documents/{id}/sent",
        Rule::Roles(WRITERS),
    ),
    // Report occurrences: the latest file (scoped like the agreement); an enterprise user of the
    // reporting organisation hands in and acknowledges (the handler checks the organisation).
    (
        "GET",
        "/agreements/{reference}/reports/{report}/{period_end}/file",
        Rule::SignedIn,
    ),
    (
        "POST",
        "/agreements/{reference}/reports/{report}/{period_end}/file",
        Rule::Roles(REPORTERS),
    ),
    (
        "POST",
        "/agreements/{reference}/reports/{report}/{period_end}/acknowledge",
        Rule::Roles(REPORTERS),
    ),
    // The figures of an occurrence: its officer enters and corrects them, the reporting
    // enterprise user hands them in; the registry checks which (others: 403, or 404 outside an
    // enterprise's own agreements).
    (
        "GET",
        "/agreements/{reference}/reports/{report}/{period_end}/figures",
        Rule::Roles(FIGURES),
    ),
    (
        "POST",
        "/agreements/{reference}/reports/{report}/{period_end}/figures",
        Rule::Roles(FIGURES),
    ),
    (
        "GET",
        "/agreements/{reference}/reports/{report}/{period_end}/figures.csv",
        Rule::Roles(FIGURES),
    ),
    ("GET", "/documents/{id}", Rule::SignedIn),
    ("GET", "/deadlines", Rule::SignedIn),
    // The follow-up of outcomes: scoped to the organisation for an enterprise user.
    ("GET", "/outcomes", Rule::SignedIn),
    ("GET", "/audit", Rule::Roles(READERS)),
    // The auditor's pages: history of an agreement, chain verification, the log as CSV.
    ("GET", "/audit/verify", Rule::Roles(READERS)),
    ("GET", "/audit/export.csv", Rule::Roles(READERS)),
    ("GET", "/agreements/{reference}/as-of", Rule::Roles(READERS)),
    ("GET", "/agreements/{reference}/diff", Rule::Roles(READERS)),
    ("GET", "/tokens", Rule::SignedIn),
    ("POST", "/tokens", Rule::SignedIn),
    ("POST", "/tokens/{id}/revoke", Rule::SignedIn),
    // Accounts administration.
    ("GET", "/admin/users", Rule::Roles(ADMINS)),
    ("POST", "/admin/users/disable", Rule::Roles(ADMINS)),
    // The outbox: officers (their organisation's messages) and admins queue failed e-mail again.
    ("GET", "/outbox", Rule::Roles(WRITERS)),
    ("POST", "/outbox/retry", Rule::Roles(WRITERS)),
    ("POST", "/outbox/{id}/retry", Rule::Roles(WRITERS)),
    // The JSON API: what an enterprise user may read (scoped); the rest takes the defaults.
    ("GET", "/api/v1/agreements", Rule::Roles(EVERYONE)),
    (
        "GET",
        "/api/v1/agreements/{reference}",
        Rule::Roles(EVERYONE),
    ),
    (
        "GET",
        "/api/v1/agreements/{reference}/documents",
        Rule::Roles(EVERYONE),
    ),
    ("GET", "/api/v1/documents/{id}", Rule::Roles(EVERYONE)),
    (
        "GET",
        "/api/v1/agreements/{reference}/documents/{id}/signed",
        Rule::Roles(EVERYONE),
    ),
    ("GET", "/api/v1/templates", Rule::Roles(EVERYONE)),
    // An occurrence's figures as CSV (the template) or CSV/JSON (handed in or corrected).
    (
        "GET",
        "/api/v1/agreements/{reference}/reports/{report}/{period_end}/figures",
        Rule::Roles(FIGURES),
    ),
    (
        "POST",
        "/api/v1/agreements/{reference}/reports/{report}/{period_end}/figures",
        Rule::Roles(FIGURES),
    ),
];

/// The rule of a request: `pattern` is the matched route (`None` when no route matched, i.e.
/// the 404 fallback, which any signed-in user may reach).
pub fn rule(method: &Method, pattern: Option<&str>) -> Rule {
    let Some(pattern) = pattern else {
        return Rule::SignedIn;
    };
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    if let Some((_, _, r)) = TABLE
        .iter()
        .find(|(m, p, _)| *p == pattern && (*m == "*" || *m == method))
    {
        return *r;
    }
    // Token-authenticated routes: signed e-mail links and calendar feeds check their own token.
    if pattern.starts_with("/l/") || pattern.starts_with("/calendar/") {
        return Rule::Public;
    }
    if pattern.starts_with("/api/v1/") {
        return if method == "GET" {
            Rule::Roles(READERS)
        } else {
            Rule::Roles(WRITERS)
        };
    }
    Rule::Nobody
}

/// Whether `role` passes `rule` (for a signed-in user).
pub fn allows(rule: Rule, role: Role) -> bool {
    match rule {
        Rule::Public | Rule::SignedIn => true,
        Rule::Roles(rs) => rs.contains(&role),
        Rule::Nobody => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_routes_are_refused_and_api_routes_take_the_defaults() {
        assert_eq!(rule(&Method::GET, Some("/somewhere/new")), Rule::Nobody);
        assert_eq!(
            rule(&Method::GET, Some("/api/v1/export")),
            Rule::Roles(READERS)
        );
        assert_eq!(
            rule(
                &Method::POST,
                Some("/api/v1/contacts/{email}/calendar-feed")
            ),
            Rule::Roles(WRITERS)
        );
        assert_eq!(
            rule(&Method::DELETE, Some("/api/v1/x")),
            Rule::Roles(WRITERS)
        );
        assert_eq!(rule(&Method::GET, Some("/l/{token}")), Rule::Public);
        assert_eq!(rule(&Method::HEAD, Some("/health")), Rule::Public);
        assert_eq!(rule(&Method::DELETE, Some("/login")), Rule::Nobody);
        assert!(!allows(Rule::Roles(WRITERS), Auditor));
    }
}
