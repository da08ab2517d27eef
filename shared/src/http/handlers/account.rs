//! The account life cycle (DESIGN 4.3): profile edits, password change, erasure, token refresh
//! and logout, the public keys, and user search.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::domain::{Cursor as _, NameCursor, UserQuery};
use crate::http::AppState;
use crate::http::dto::{
    AccountDeletion, MeResponse, PasswordChange, ProfilePatch, RefreshRequest, TokenResponse,
    UserPage,
};
use crate::http::extract::{AuthUser, JsonBody, PageQuery};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    patch, path = "/me", tag = "account",
    security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The caller's profile after the change", body = MeResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid display name or bio", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes from this account (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn patch_me(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<ProfilePatch>,
) -> Result<Json<MeResponse>, ServiceError> {
    let changes = body.into_domain()?;
    let profile = services::update_profile(&state.ctx, me, &changes).await?;
    Ok(Json(profile.into()))
}

#[utoipa::path(
    put, path = "/me/password", tag = "account",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; every session of the user is revoked"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password breaks the rules", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<StatusCode, ServiceError> {
    let new = body.new_password()?;
    services::change_password(&state.ctx, me, &body.current_password, &new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/me", tag = "account",
    security(("bearer" = [])),
    request_body = AccountDeletion,
    responses(
        (status = 204, description = "Erased; the rest follows within seconds"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing password", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_me(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    JsonBody(body): JsonBody<AccountDeletion>,
) -> Result<StatusCode, ServiceError> {
    services::delete_account(&state.ctx, me, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the refresh token presented is spent", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, expired or reused refresh token (a reuse revokes the session)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing refresh_token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<TokenResponse>, ServiceError> {
    let session = services::refresh(&state.ctx, &body.refresh_token).await?;
    Ok(Json(session.into()))
}

#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "The session is over (also for a token no session knows)"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing refresh_token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<StatusCode, ServiceError> {
    services::logout(&state.ctx, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "auth",
    responses(
        (status = 200, description = "The public keys that verify access tokens (RFC 7517 JWK Set)", body = Object),
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, ServiceError> {
    let keys = state.ctx.tokens()?.jwks();
    // Verifiers may cache the set briefly; a new key is published before it signs.
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(keys)))
}

#[utoipa::path(
    get, path = "/users", tag = "users",
    params(
        ("query" = String, Query, description = "1 to 30 characters: the start of a username or display name, in any case"),
        ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "Users whose username or display name starts with the query, by username", body = UserPage),
        (status = 400, description = "A cursor the API did not issue", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid query or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search(
    State(state): State<AppState>,
    page: PageQuery,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<UserPage>, ServiceError> {
    // PageQuery has refused a malformed query string already.
    let query = params.ok().and_then(|Query(mut p)| p.remove("query"));
    let query = UserQuery::parse(query.as_deref().unwrap_or_default())?;
    let after = page.cursor.as_deref().map(NameCursor::decode).transpose()?;
    let found = services::search_users(&state.ctx, &query, after, page.limit).await?;
    Ok(Json(found.map(Into::into).into()))
}
