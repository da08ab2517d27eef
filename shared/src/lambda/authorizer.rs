//! The HTTP API's Lambda authorizer (payload 2.0, simple responses): a valid bearer token is
//! allowed through with its user id in the context; anything else is denied. Protected
//! handlers verify the token again, so a function reached without the authorizer is safe too.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;
use tracing::Instrument as _;

use crate::services::{KeySet, TokenService};

/// The token of an `Authorization: Bearer <token>` identity source or header.
fn bearer(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&str> {
    let from_source = request.identity_source.iter().flatten().map(String::as_str);
    let from_header = request
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    from_source.chain(from_header).find_map(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    })
}

pub fn authorize(
    tokens: &TokenService,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    if let Some(user) = bearer(request).and_then(|token| tokens.verify(token).ok()) {
        response.is_authorized = true;
        response.context = json!({ "user_id": user.user.to_string() });
    }
    response
}

/// Serves the authorizer as a Lambda. It needs the public keys and nothing else: no private
/// key, no store, no cache, no broker, so it starts fast and needs no network access. It does
/// not see revocations (that needs the store): the handlers check those, within seconds.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    let config = super::start().await?;
    let jwks = config
        .jwt_public_keys
        .as_deref()
        .ok_or("JWT_PUBLIC_KEYS: required outside the local server")?;
    let keys = KeySet::from_jwks(jwks).map_err(|e| format!("JWT_PUBLIC_KEYS: {e}"))?;
    let tokens = &TokenService::verifying(keys, config.jwt_ttl);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, lambda_runtime::Error>(authorize(tokens, &event.payload))
        },
    ))
    .instrument(super::function_span(&config))
    .await
}
