use axum::Json;
use axum::extract::State;

use crate::http::AppState;
use crate::http::dto::{MeResponse, ProfileResponse};
use crate::http::extract::{AuthUser, Reader, UserPath};
use crate::http::problem::Problem;
use crate::services::{self, ServiceError};

#[utoipa::path(
    get, path = "/me", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = MeResponse),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<MeResponse>, ServiceError> {
    // A valid token for a user that no longer exists is as good as no token.
    let profile = services::profile_by_id(&state.ctx, me)
        .await
        .map_err(|err| match err {
            ServiceError::NotFound(_) => ServiceError::Unauthorized,
            other => other,
        })?;
    Ok(Json(profile.into()))
}

#[utoipa::path(
    get, path = "/users/{username}", tag = "users",
    params(("username" = String, Path, description = "Case-insensitive")),
    responses(
        (status = 200, description = "A public profile; with a token, also how the caller stands towards the user", body = ProfileResponse),
        (status = 401, description = "A token was sent and is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn profile(
    State(state): State<AppState>,
    Reader(reader): Reader,
    UserPath(username): UserPath,
) -> Result<Json<ProfileResponse>, ServiceError> {
    let profile = services::profile_by_username(&state.ctx, &username).await?;
    let relationship = match reader {
        Some(reader) => Some(services::relationship(&state.ctx, reader, profile.user.id).await?),
        None => None,
    };
    Ok(Json(ProfileResponse::new(profile, relationship)))
}
