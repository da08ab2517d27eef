use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::domain::{DisplayName, Email, Password, Username};
use crate::http::AppState;
use crate::http::dto::{LoginRequest, RegisterRequest, RegisteredUser, TokenResponse};
use crate::http::extract::JsonObject;
use crate::http::problem::Problem;
use crate::services::{self, Registration, ServiceError};

#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = RegisteredUser),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or e-mail taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<(StatusCode, Json<RegisteredUser>), ServiceError> {
    let input = Registration {
        username: Username::parse(body.required("username")?)?,
        email: Email::parse(body.required("email")?)?,
        password: Password::parse(body.required("password")?)?,
        display_name: body
            .optional("display_name")?
            .map(DisplayName::parse)
            .transpose()?,
    };
    let user = services::register(&state.ctx, input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown user or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing field", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    body: JsonObject,
) -> Result<Json<TokenResponse>, ServiceError> {
    let login = body.required("login")?;
    let password = body.required("password")?;
    let token = services::login(&state.ctx, login, password).await?;
    Ok(Json(token.into()))
}
