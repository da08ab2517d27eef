//! The caller's notifications (DESIGN 4.2).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::http::AppState;
use crate::http::dto::{MarkReadRequest, NotificationPage, UnreadCountResponse};
use crate::http::extract::{AuthUser, OptionalJsonBody, PageQuery};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    get, path = "/notifications", tag = "notifications",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "The caller's notifications, newest first", body = NotificationPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    page: PageQuery,
) -> Result<Json<NotificationPage>, ServiceError> {
    let found = services::notifications(&state.ctx, me, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(found.into()))
}

#[utoipa::path(
    get, path = "/notifications/unread_count", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many notifications are unread", body = UnreadCountResponse),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unread_count(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<UnreadCountResponse>, ServiceError> {
    let count = services::unread_count(&state.ctx, me).await?;
    Ok(Json(UnreadCountResponse { count }))
}

#[utoipa::path(
    post, path = "/notifications/read", tag = "notifications",
    security(("bearer" = [])),
    request_body(content = Option<MarkReadRequest>, description = "`{up_to}` marks that notification and every older one; no body or `{}` marks all"),
    responses(
        (status = 204, description = "Marked read"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "up_to is not a notification id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    OptionalJsonBody(body): OptionalJsonBody<MarkReadRequest>,
) -> Result<StatusCode, ServiceError> {
    let up_to = match body {
        Some(body) => body.into_domain()?,
        None => None,
    };
    services::mark_read(&state.ctx, me, up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}
