//! RFC 9457 problem details: the one place where errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::services::{ErrorCode, ServiceError};

/// `application/problem+json` body. `type` is `about:blank`, so `title` is the status phrase
/// and `detail` says what went wrong, for people; `code` names the cause for programs (see
/// [`ErrorCode`]); validation problems also name the `field`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// Whole seconds for the `Retry-After` header of a 429 (not part of the body).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            field: None,
            retry_after: None,
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after;
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
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(err: ServiceError) -> Self {
        let code = err.code();
        match err {
            ServiceError::Invalid(invalid) => Problem {
                field: Some(invalid.field),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, invalid.to_string())
            },
            ServiceError::BadRequest(_, detail) => {
                Problem::new(StatusCode::BAD_REQUEST, code, detail)
            }
            ServiceError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                code,
                "the credentials are missing or invalid",
            ),
            ServiceError::Forbidden(detail) => Problem::new(StatusCode::FORBIDDEN, code, detail),
            ServiceError::NotFound(detail) => Problem::new(StatusCode::NOT_FOUND, code, detail),
            ServiceError::Conflict(_, detail) => Problem::new(StatusCode::CONFLICT, code, detail),
            ServiceError::RateLimited { retry_after } => {
                // Whole seconds, rounded up, and at least one: a client that waits that long
                // is let through.
                let seconds = u64::try_from(retry_after.as_millis().div_ceil(1_000).max(1))
                    .unwrap_or(u64::MAX);
                Problem {
                    retry_after: Some(seconds),
                    ..Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        code,
                        format!("too many requests: try again in {seconds} s"),
                    )
                }
            }
            ServiceError::Unexpected(cause) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
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
            (
                ServiceError::from(ValidationError::new("x", "bad")),
                422,
                "invalid_field",
            ),
            (
                ServiceError::BadRequest(ErrorCode::MalformedJson, "b".into()),
                400,
                "malformed_json",
            ),
            (ServiceError::Unauthorized, 401, "unauthorized"),
            (ServiceError::Forbidden("f"), 403, "forbidden"),
            (ServiceError::NotFound("n"), 404, "not_found"),
            (
                ServiceError::RateLimited {
                    retry_after: std::time::Duration::from_millis(1),
                },
                429,
                "rate_limited",
            ),
            (
                ServiceError::Conflict(ErrorCode::EmailTaken, "c"),
                409,
                "email_taken",
            ),
            (
                ServiceError::Unexpected(anyhow::anyhow!("secret cause")),
                500,
                "internal",
            ),
        ];
        for (err, status, code) in cases {
            let problem = Problem::from(err);
            assert_eq!(problem.status, status);
            assert!(!problem.detail.contains("secret cause"));
            let json = serde_json::to_value(&problem).unwrap_or_default();
            assert_eq!(json["code"], code, "{json}");
            assert!(json.get("retry_after").is_none(), "{json}");
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_at_least_one() {
        for (millis, seconds) in [
            (1, "1"),
            (999, "1"),
            (1_000, "1"),
            (1_001, "2"),
            (90_000, "90"),
        ] {
            let err = ServiceError::RateLimited {
                retry_after: std::time::Duration::from_millis(millis),
            };
            let response = err.into_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response.headers().get(header::RETRY_AFTER),
                Some(&HeaderValue::from_static(seconds)),
                "{millis} ms"
            );
        }
    }
}
