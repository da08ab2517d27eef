//! What every request leaves behind for an operator: a span joined to the caller's trace (the
//! `traceparent` header, or a new trace), named by its route, request id and, once the token
//! is read, its user; the `X-Request-Id` answer header; and the `Requests` and
//! `RequestLatency` metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::domain::TraceContext;
use crate::telemetry::{metrics, trace};

/// The answer header that names the request (in Lambda, the invocation's request id).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The route template a request matched (`/users/{username}`), never the path itself: a
/// path holds names and ids, and would make a metric per user.
fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned())
}

/// The Lambda invocation's request id when the request came through lambda_http, else a new
/// one: never an id the client chose, so that logs cannot be forged to name another request.
fn request_id_of(request: &Request) -> String {
    request
        .extensions()
        .get::<lambda_http::Context>()
        .map_or_else(
            || uuid::Uuid::now_v7().to_string(),
            |lambda| lambda.request_id.clone(),
        )
}

pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_of(&request);
    let request_id = request_id_of(&request);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    );
    let parent = request
        .headers()
        .get(TraceContext::HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse);
    trace::adopt(&span, parent.as_ref());
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::debug!(
            status,
            elapsed_ms = started.elapsed().as_millis(),
            "answered"
        )
    });
    metrics::request(&route, status, started.elapsed());
    response
}

/// Names the request's user in its span (and so in every log line after the token is read).
pub fn record_user(user: crate::domain::UserId) {
    tracing::Span::current().record("user_id", tracing::field::display(user));
}
