//! Request extractors, in the contract's order of checks: body size (413, middleware), token
//! (401), JSON syntax (400), then fields (422).

use std::collections::HashMap;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::AppState;
use super::problem::Problem;
use crate::domain::{Limit, UserId, ValidationError};
use crate::services::{ErrorCode, ServiceError};

/// Bodies larger than this get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Refuses oversized bodies before anything else reads them, whether the size is declared in
/// `Content-Length` or only discovered while reading a chunked body.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            "the request body is larger than 64 KiB",
        )
        .into_response()
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => too_large(),
    }
}

/// The caller, proven by a valid bearer token.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub UserId);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .ok_or(ServiceError::Unauthorized)?;
        let user = state
            .ctx
            .tokens()?
            .verify(token)
            .map_err(|_| ServiceError::Unauthorized)?;
        Ok(AuthUser(user))
    }
}

/// A JSON body, checked for syntax only (400); fields are read with [`JsonObject::required`]
/// and [`JsonObject::optional`] (422), so that a missing and an invalid field answer alike.
#[derive(Debug)]
pub struct JsonObject(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ServiceError;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| {
                ServiceError::BadRequest(
                    ErrorCode::MalformedJson,
                    "the body could not be read".into(),
                )
            })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
            ServiceError::BadRequest(ErrorCode::MalformedJson, format!("malformed JSON: {err}"))
        })?;
        match value {
            Value::Object(map) => Ok(Self(map)),
            _ => Err(ValidationError::new("body", "must be a JSON object").into()),
        }
    }
}

impl JsonObject {
    pub fn required(&self, field: &'static str) -> Result<&str, ValidationError> {
        self.optional(field)?
            .ok_or_else(|| ValidationError::new(field, "is required"))
    }

    pub fn optional(&self, field: &'static str) -> Result<Option<&str>, ValidationError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(ValidationError::new(field, "must be a string")),
        }
    }
}

/// `?limit=` and `?cursor=`; an out-of-range limit is 422, never clamped.
#[derive(Debug)]
pub struct PageQuery {
    pub limit: Limit,
    pub cursor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ServiceError::BadRequest(ErrorCode::MalformedQuery, "malformed query string".into())
            })?;
        Ok(Self {
            limit: Limit::parse(params.get("limit").map(String::as_str))?,
            cursor: params.get("cursor").cloned(),
        })
    }
}
