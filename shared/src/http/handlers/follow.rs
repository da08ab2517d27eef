use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::http::AppState;
use crate::http::dto::UserPage;
use crate::http::extract::{AuthUser, PageQuery, UserPath};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    put, path = "/users/{username}/follow", tag = "follows",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to follow")),
    responses(
        (status = 204, description = "Following (idempotent)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A block stands between the two users", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Following yourself", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn follow(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    UserPath(username): UserPath,
) -> Result<StatusCode, ServiceError> {
    services::follow(&state.ctx, me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/users/{username}/follow", tag = "follows",
    security(("bearer" = [])),
    params(("username" = String, Path, description = "Whom to unfollow")),
    responses(
        (status = 204, description = "Not following (idempotent)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unfollowing yourself", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unfollow(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    UserPath(username): UserPath,
) -> Result<StatusCode, ServiceError> {
    services::unfollow(&state.ctx, me, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/users/{username}/followers", tag = "follows",
    params(
        ("username" = String, Path),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Followers, newest relation first", body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn followers(
    State(state): State<AppState>,
    UserPath(username): UserPath,
    page: PageQuery,
) -> Result<Json<UserPage>, ServiceError> {
    let users =
        services::followers(&state.ctx, &username, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(users.into()))
}

#[utoipa::path(
    get, path = "/users/{username}/following", tag = "follows",
    params(
        ("username" = String, Path),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Followees, newest relation first", body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn following(
    State(state): State<AppState>,
    UserPath(username): UserPath,
    page: PageQuery,
) -> Result<Json<UserPage>, ServiceError> {
    let users =
        services::following(&state.ctx, &username, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(users.into()))
}
