use axum::Json;
use axum::extract::State;

use crate::http::AppState;
use crate::http::dto::FeedPage;
use crate::http::extract::{AuthUser, PageQuery, Reader, UserPath};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    get, path = "/feed", tag = "feeds",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Own and followees' posts, newest first", body = FeedPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn home(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    page: PageQuery,
) -> Result<Json<FeedPage>, ServiceError> {
    let posts = services::home_feed(&state.ctx, me, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(posts.into()))
}

#[utoipa::path(
    get, path = "/users/{username}/posts", tag = "feeds",
    params(
        ("username" = String, Path),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "The user's posts, newest first", body = FeedPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_posts(
    State(state): State<AppState>,
    Reader(reader): Reader,
    UserPath(username): UserPath,
    page: PageQuery,
) -> Result<Json<FeedPage>, ServiceError> {
    let posts = services::user_feed(
        &state.ctx,
        &username,
        page.cursor.as_deref(),
        page.limit,
        reader,
    )
    .await?;
    Ok(Json(posts.into()))
}
