use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::http::AppState;
use crate::http::dto::UserPage;
use crate::http::extract::{AuthUser, PageQuery, UserPath};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    put, path = "/users/{username}/block", tag = "safety",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to block")),
    responses(
        (status = 204, description = "Blocking (idempotent); follows both ways end"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Blocking yourself", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn block(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    UserPath(username): UserPath,
) -> Result<StatusCode, ServiceError> {
    services::block(&state.ctx, me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/users/{username}/block", tag = "safety",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to unblock")),
    responses(
        (status = 204, description = "Not blocking (idempotent)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unblocking yourself", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unblock(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    UserPath(username): UserPath,
) -> Result<StatusCode, ServiceError> {
    services::unblock(&state.ctx, me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/users/{username}/mute", tag = "safety",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to mute")),
    responses(
        (status = 204, description = "Muting (idempotent)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Muting yourself", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mute(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    UserPath(username): UserPath,
) -> Result<StatusCode, ServiceError> {
    services::mute(&state.ctx, me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/users/{username}/mute", tag = "safety",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to unmute")),
    responses(
        (status = 204, description = "Not muting (idempotent)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unmuting yourself", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unmute(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    UserPath(username): UserPath,
) -> Result<StatusCode, ServiceError> {
    services::unmute(&state.ctx, me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/me/blocks", tag = "safety",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Whom the caller blocks, newest block first", body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn blocks(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    page: PageQuery,
) -> Result<Json<UserPage>, ServiceError> {
    let users = services::blocks(&state.ctx, me, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(users.into()))
}

#[utoipa::path(
    get, path = "/me/mutes", tag = "safety",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Whom the caller mutes, newest mute first", body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mutes(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    page: PageQuery,
) -> Result<Json<UserPage>, ServiceError> {
    let users = services::mutes(&state.ctx, me, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(users.into()))
}
