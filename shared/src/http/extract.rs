//! Request extractors, in the contract's order of checks: body size (413, middleware), token
//! (401), JSON syntax (400), then fields (422).

use std::collections::HashMap;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AppState;
use super::problem::Problem;
use crate::domain::{
    IDEMPOTENCY_HEADER, IdempotencyKey, Limit, PostId, UserId, Username, ValidationError,
};
use crate::services::{ClientAddr, ErrorCode, ServiceError};

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

/// The caller, proven by a valid bearer token. A middleware that verified the token already
/// (a per-account rate limit, `http::limit`) leaves the user in the request's extensions,
/// and the token is not verified twice.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub UserId);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        match Reader::from_request_parts(parts, state).await? {
            Reader(Some(user)) => Ok(AuthUser(user)),
            Reader(None) => Err(ServiceError::Unauthorized),
        }
    }
}

/// The reader of a public route: the token's user when the request sends a token (for viewer
/// state), nobody when it sends none. A token that is sent and fails verification is 401 here
/// too, so that a client learns at once that its token is bad (DESIGN 4.1).
#[derive(Debug, Clone, Copy)]
pub struct Reader(pub Option<UserId>);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Reader(None));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .ok_or(ServiceError::Unauthorized)?;
        let verified = state
            .ctx
            .tokens()?
            .verify(token)
            .map_err(|_| ServiceError::Unauthorized)?;
        if state
            .ctx
            .revocations()?
            .is_revoked(verified.session)
            .await?
        {
            return Err(ServiceError::Unauthorized);
        }
        super::observe::record_user(verified.user);
        Ok(Reader(Some(verified.user)))
    }
}

/// The client's address, as the entry point put it into the request (`http::limit`: the TCP
/// peer locally, API Gateway's `sourceIp` in Lambda). A request without one (a test calling
/// the router directly) is an unknown client, logged once.
impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<ClientAddr>() {
            Some(addr) => *addr,
            None => {
                crate::services::limits::note_unknown_address();
                ClientAddr(None)
            }
        })
    }
}

/// A `{tag}` path segment, normalized as tags are stored (lower case); 422 naming `tag` for
/// text no post can be tagged with.
#[derive(Debug)]
pub struct TagPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TagPath {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ServiceError::NotFound("tag not found"))?;
        Ok(TagPath(crate::services::interact::parse_tag(&raw)?))
    }
}

/// A `{username}` path segment as a [`Username`]. A segment that is no valid username names no
/// user: 404, like an unknown one.
#[derive(Debug)]
pub struct UserPath(pub Username);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ServiceError::NotFound("user not found"))?;
        Username::parse(&raw)
            .map(UserPath)
            .map_err(|_| ServiceError::NotFound("user not found"))
    }
}

/// An `{id}` path segment as a [`PostId`]. A segment that is no post id names no post: 404.
#[derive(Debug)]
pub struct PostPath(pub PostId);

impl<S: Send + Sync> FromRequestParts<S> for PostPath {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ServiceError::NotFound("post not found"))?;
        raw.parse()
            .map(PostPath)
            .map_err(|_| ServiceError::NotFound("post not found"))
    }
}

/// The request's `Idempotency-Key` (DESIGN 4.4), if it sent one. Read by the handler after
/// the body, so that a malformed body is still 400 before a bad key is 422.
///
/// # Errors
/// 422 naming the header: a key that is not 1 to 255 visible ASCII characters, or sent twice.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ServiceError> {
    let mut values = headers.get_all(IDEMPOTENCY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ValidationError::new(IDEMPOTENCY_HEADER, "must be sent once").into());
    }
    let text = value.to_str().map_err(|_| {
        ValidationError::new(IDEMPOTENCY_HEADER, "must be visible ASCII characters")
    })?;
    Ok(Some(IdempotencyKey::parse(text)?))
}

/// A request body of type `T`, read in the contract's order: JSON syntax first (400), then
/// each field into `T` (422 naming the field: missing, `null` where a value is required, or of
/// the wrong type). `T` is the type the OpenAPI document describes the body with, so the
/// document and the parser cannot disagree; the handler then turns it into domain types once.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A request body type: its fields, by the names clients send.
pub trait RequestBody: DeserializeOwned {
    const FIELDS: &'static [&'static str];
}

impl<S: Send + Sync, T: RequestBody> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request).await?;
        parse_body(&bytes).map(JsonBody)
    }
}

/// A request body that may be left out: no body (or only whitespace) is `None`, anything else
/// is read as [`JsonBody`] reads it.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: RequestBody> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        parse_body(&bytes).map(|body| OptionalJsonBody(Some(body)))
    }
}

async fn read_body(request: Request) -> Result<axum::body::Bytes, ServiceError> {
    to_bytes(request.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| {
            ServiceError::BadRequest(
                ErrorCode::MalformedJson,
                "the body could not be read".into(),
            )
        })
}

fn parse_body<T: RequestBody>(bytes: &[u8]) -> Result<T, ServiceError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|err| {
        ServiceError::BadRequest(ErrorCode::MalformedJson, format!("malformed JSON: {err}"))
    })?;
    if !value.is_object() {
        return Err(ValidationError::new("body", "must be a JSON object").into());
    }
    serde_path_to_error::deserialize(value).map_err(|err| field_error::<T>(&err).into())
}

/// The 422 of a field that did not deserialize. serde names a missing field only in its
/// message ("missing field `x`", at the object's own path); any other failure has the field's
/// path.
fn field_error<T: RequestBody>(
    err: &serde_path_to_error::Error<serde_json::Error>,
) -> ValidationError {
    let message = err.inner().to_string();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let path = err.path().iter().next().map(ToString::to_string);
    let named = missing.map(str::to_owned).or(path);
    let field = T::FIELDS
        .iter()
        .copied()
        .find(|f| named.as_deref() == Some(*f))
        .unwrap_or("body");
    let reason = match message.split_once(", expected ") {
        _ if missing.is_some() || message.starts_with("invalid type: null") => {
            "is required".to_owned()
        }
        Some((_, expected)) => format!("must be {expected}"),
        None => message,
    };
    ValidationError::new(field, reason)
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

#[cfg(test)]
mod body_tests {
    use super::*;
    use crate::http::dto::{LoginRequest, RegisterRequest};

    async fn read<T: RequestBody>(body: &'static str) -> Result<T, (u16, Option<&'static str>)> {
        let request = Request::builder()
            .body(Body::from(body))
            .unwrap_or_default();
        match JsonBody::<T>::from_request(request, &()).await {
            Ok(JsonBody(value)) => Ok(value),
            Err(ServiceError::Invalid(invalid)) => Err((422, Some(invalid.field))),
            Err(ServiceError::BadRequest(..)) => Err((400, None)),
            Err(_) => Err((500, None)),
        }
    }

    #[tokio::test]
    async fn a_body_is_checked_for_syntax_then_each_field_by_name() {
        let ok = read::<LoginRequest>(r#"{"login": "ann", "password": "pw", "extra": 1}"#).await;
        assert!(ok.is_ok_and(|l| l.login == "ann" && l.password == "pw"));
        assert_eq!(
            read::<LoginRequest>(r#"{"login": "#).await.err(),
            Some((400, None))
        );
        assert_eq!(read::<LoginRequest>("").await.err(), Some((400, None)));
        assert_eq!(
            read::<LoginRequest>("[1]").await.err(),
            Some((422, Some("body")))
        );
        let missing = read::<LoginRequest>(r#"{"login": "ann"}"#).await;
        assert_eq!(missing.err(), Some((422, Some("password"))));
        let null = read::<LoginRequest>(r#"{"login": null, "password": "pw"}"#).await;
        assert_eq!(null.err(), Some((422, Some("login"))));
        let number = read::<LoginRequest>(r#"{"login": "ann", "password": 5}"#).await;
        assert_eq!(number.err(), Some((422, Some("password"))));
        let optional = read::<RegisterRequest>(
            r#"{"username": "ann", "email": "a@b.co", "password": "x", "display_name": null}"#,
        )
        .await;
        assert!(optional.is_ok_and(|r| r.display_name.is_none()));
        let wrong = read::<RegisterRequest>(
            r#"{"username": "ann", "email": "a@b.co", "password": "x", "display_name": 3}"#,
        )
        .await;
        assert_eq!(wrong.err(), Some((422, Some("display_name"))));
    }
}
