use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::http::AppState;
use crate::http::dto::HealthResponse;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[utoipa::path(
    get, path = "/health", tag = "meta",
    responses(
        (status = 200, description = "Every dependency answers", body = HealthResponse),
        (status = 503, description = "A dependency is down", body = HealthResponse),
    )
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    // `ok` or `error` only (DESIGN 4.4): the cause, which may name hosts and versions, goes to
    // the log, never into a public answer.
    let results = futures::future::join_all(state.probes.iter().map(|probe| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (probe.check)()).await {
            Ok(Ok(())) => "ok",
            Ok(Err(err)) => {
                tracing::warn!(check = probe.name, error = %format!("{err:#}"), "health check failed");
                "error"
            }
            Err(_) => {
                tracing::warn!(check = probe.name, "health check timed out");
                "error"
            }
        };
        (probe.name.to_owned(), outcome.to_owned())
    }))
    .await;
    let checks: BTreeMap<String, String> = results.into_iter().collect();
    let healthy = checks.values().all(|outcome| outcome == "ok");
    let (status, label) = if healthy {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    (
        status,
        Json(HealthResponse {
            status: label,
            checks,
        }),
    )
}

#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::http::openapi_document(),
    )
}
