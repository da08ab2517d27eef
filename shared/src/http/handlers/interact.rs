//! Likes, reposts, replies, a post's context and tag pages (DESIGN 4.2).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::http::AppState;
use crate::http::dto::{ContextResponse, FeedPage, PostPage, UserPage};
use crate::http::extract::{AuthUser, PageQuery, PostPath, Reader, TagPath};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    put, path = "/posts/{id}/like", tag = "reactions",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Liked (again: nothing changes)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A block stands between the caller and the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn like(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    PostPath(id): PostPath,
) -> Result<StatusCode, ServiceError> {
    services::like(&state.ctx, me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/posts/{id}/like", tag = "reactions",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Not liked (any more, or never)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlike(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    PostPath(id): PostPath,
) -> Result<StatusCode, ServiceError> {
    services::unlike(&state.ctx, me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/posts/{id}/likes", tag = "reactions",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Who likes the post, newest like first", body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn likes(
    State(state): State<AppState>,
    PostPath(id): PostPath,
    page: PageQuery,
) -> Result<Json<UserPage>, ServiceError> {
    let users = services::likers(&state.ctx, id, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(users.into()))
}

#[utoipa::path(
    put, path = "/posts/{id}/repost", tag = "reactions",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Reposted (again: nothing changes)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A block stands between the caller and the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn repost(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    PostPath(id): PostPath,
) -> Result<StatusCode, ServiceError> {
    services::repost(&state.ctx, me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/posts/{id}/repost", tag = "reactions",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Not reposted (any more, or never)"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unrepost(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    PostPath(id): PostPath,
) -> Result<StatusCode, ServiceError> {
    services::unrepost(&state.ctx, me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/posts/{id}/reposts", tag = "reactions",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Who reposted the post, newest repost first", body = UserPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reposts(
    State(state): State<AppState>,
    PostPath(id): PostPath,
    page: PageQuery,
) -> Result<Json<UserPage>, ServiceError> {
    let users = services::reposters(&state.ctx, id, page.cursor.as_deref(), page.limit).await?;
    Ok(Json(users.into()))
}

#[utoipa::path(
    get, path = "/posts/{id}/replies", tag = "conversations",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "The direct replies, oldest first", body = PostPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replies(
    State(state): State<AppState>,
    Reader(reader): Reader,
    PostPath(id): PostPath,
    page: PageQuery,
) -> Result<Json<PostPage>, ServiceError> {
    let posts =
        services::replies(&state.ctx, id, page.cursor.as_deref(), page.limit, reader).await?;
    Ok(Json(posts.into()))
}

#[utoipa::path(
    get, path = "/posts/{id}/context", tag = "conversations",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Ancestors from the root down, descendants depth first", body = ContextResponse),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn context(
    State(state): State<AppState>,
    Reader(reader): Reader,
    PostPath(id): PostPath,
) -> Result<Json<ContextResponse>, ServiceError> {
    let thread = services::context(&state.ctx, id, reader).await?;
    Ok(Json(thread.into()))
}

#[utoipa::path(
    get, path = "/tags/{tag}/posts", tag = "conversations",
    params(
        ("tag" = String, Path, description = "Matched without case"),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Posts with the tag, newest first (empty for a tag nobody used)", body = FeedPage),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a tag, or bad limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn tag_posts(
    State(state): State<AppState>,
    Reader(reader): Reader,
    TagPath(tag): TagPath,
    page: PageQuery,
) -> Result<Json<FeedPage>, ServiceError> {
    let posts =
        services::tag_posts(&state.ctx, &tag, page.cursor.as_deref(), page.limit, reader).await?;
    Ok(Json(posts.into()))
}
