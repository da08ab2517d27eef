//! RFC 9457 problem details: the one place where errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::services::ServiceError;

/// `application/problem+json` body. `type` is `about:blank`, so `title` is the status phrase
/// and `detail` says what went wrong; validation problems also name the `field`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(invalid) => Problem {
                field: Some(invalid.field),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, invalid.to_string())
            },
            ServiceError::BadRequest(detail) => Problem::new(StatusCode::BAD_REQUEST, detail),
            ServiceError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                "the credentials are missing or invalid",
            ),
            ServiceError::Forbidden(detail) => Problem::new(StatusCode::FORBIDDEN, detail),
            ServiceError::NotFound(detail) => Problem::new(StatusCode::NOT_FOUND, detail),
            ServiceError::Conflict(detail) => Problem::new(StatusCode::CONFLICT, detail),
            ServiceError::Unexpected(cause) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "an unexpected error occurred",
                )
            }
        }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ValidationError;

    #[test]
    fn statuses_map_once() {
        let cases = [
            (ServiceError::from(ValidationError::new("x", "bad")), 422),
            (ServiceError::BadRequest("b".into()), 400),
            (ServiceError::Unauthorized, 401),
            (ServiceError::Forbidden("f"), 403),
            (ServiceError::NotFound("n"), 404),
            (ServiceError::Conflict("c"), 409),
            (
                ServiceError::Unexpected(anyhow::anyhow!("secret cause")),
                500,
            ),
        ];
        for (err, status) in cases {
            let problem = Problem::from(err);
            assert_eq!(problem.status, status);
            assert!(!problem.detail.contains("secret cause"));
        }
    }
}
