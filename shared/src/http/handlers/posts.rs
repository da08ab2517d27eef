use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::http::AppState;
use crate::http::dto::{NewPostRequest, PostResponse};
use crate::http::extract::{AuthUser, JsonBody, PostPath, Reader, idempotency_key};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    post, path = "/posts", tag = "posts",
    security(("bearer" = [])),
    request_body = NewPostRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters. The same key from the same account within 24 hours answers the first post again and creates nothing; with a different body it is 422"),
    ),
    responses(
        (status = 201, description = "Posted (or, for a repeated Idempotency-Key, the post created the first time)", body = PostResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A reply to a post whose author is in a block with the caller", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The post replied to does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Content empty or over 280 characters, in_reply_to not a post id, or an Idempotency-Key that is malformed or was used for another body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many posts from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewPostRequest>,
) -> Result<(StatusCode, Json<PostResponse>), ServiceError> {
    let draft = body.into_domain()?;
    let key = idempotency_key(&headers)?;
    let post = services::create_post(&state.ctx, me, draft, key).await?;
    Ok((StatusCode::CREATED, Json(post.into())))
}

#[utoipa::path(
    get, path = "/posts/{id}", tag = "posts",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The post (with the reader's likes and reposts when a token is sent)", body = PostResponse),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Reader(reader): Reader,
    PostPath(id): PostPath,
) -> Result<Json<PostResponse>, ServiceError> {
    let post = services::get_post(&state.ctx, id, reader).await?;
    Ok(Json(post.into()))
}

#[utoipa::path(
    delete, path = "/posts/{id}", tag = "posts",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown post", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    PostPath(id): PostPath,
) -> Result<StatusCode, ServiceError> {
    services::delete_post(&state.ctx, me, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
