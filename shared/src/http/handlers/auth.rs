use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::http::AppState;
use crate::http::dto::{LoginRequest, RegisterRequest, RegisteredUser, TokenResponse};
use crate::http::extract::JsonBody;
use crate::http::problem::Problem;
use crate::services::{self, ClientAddr, ServiceError};

#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = RegisteredUser),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or e-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address (`Retry-After` says when to try again)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisteredUser>), ServiceError> {
    let user = services::register(&state.ctx, body.into_domain()?).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown user or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address, or failed attempts on this account from it: even the right password waits (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    from: ClientAddr,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Json<TokenResponse>, ServiceError> {
    let token = services::login(&state.ctx, &body.login, &body.password, from).await?;
    Ok(Json(token.into()))
}
