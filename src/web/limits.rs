//! What a request may send: a body whose declared `Content-Length` is over the route's limit is
//! refused with 413 before a byte of it is read, and a body must arrive within
//! `body_timeout_secs` (the headers' time limit is the server's, see `server`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Frame, SizeHint};

use super::state::AppState;
use crate::config::Settings;

/// Whether the route (its pattern) takes report files or signed copies, which may be larger than
/// other bodies.
pub fn is_upload(pattern: Option<&str>) -> bool {
    pattern.is_some_and(|p| {
        p.ends_with("/reports/{report}/{period_end}/file")
            || p.ends_with("/documents/{id}/signed")
            || p == "/l/{token}/report"
            || p == "/agreements/{reference}/reports/{report}/{period_end}/figures"
    })
}

/// The largest body the upload routes accept: the file and room for the rest of the form.
pub fn upload_limit(settings: &Settings) -> usize {
    settings.upload_max_bytes.saturating_add(1024 * 1024)
}

/// The largest body the route (its pattern) accepts.
pub fn body_limit(settings: &Settings, pattern: Option<&str>) -> usize {
    if is_upload(pattern) {
        upload_limit(settings)
    } else {
        settings.max_body_bytes
    }
}

/// Refuses a declared body over the route's limit (413, connection closed) and gives the body a
/// deadline.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let settings = &state.registry.settings;
    let pattern = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let limit = body_limit(settings, pattern);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        let path = req.uri().path().to_owned();
        let mut resp = super::ui::refuse(&path, StatusCode::PAYLOAD_TOO_LARGE, "");
        // The body is never read, so the connection cannot carry another request.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    let timeout = Duration::from_secs(settings.body_timeout_secs.max(1));
    let req = req.map(|body| Body::new(Deadline::new(body, timeout)));
    next.run(req).await
}

/// A request body that fails once its deadline has passed before it ended.
struct Deadline {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl Deadline {
    fn new(inner: Body, timeout: Duration) -> Self {
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(format!(
                "the request body did not arrive within {} s",
                self.timeout.as_secs()
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
