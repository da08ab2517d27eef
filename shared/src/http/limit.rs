//! Rate limits at the edge (DESIGN 4.4): the middleware that applies a route's limit class
//! (`routes::Route::limit`), and the one place per entry point that tells the client's address.
//!
//! Order of checks on a limited route: route (404/405), body size (413), then for a limit by
//! account the token (401), then the limit (429), then the handler's own (JSON 400, fields
//! 422, ...). A limited request never reaches its handler, so it changes nothing.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::AuthUser;
use crate::ports::{Per, RateClass};
use crate::services::ClientAddr;
use crate::services::limits::keys;

/// Takes one from `class`'s counter for the request's address or account; 429 past it.
pub async fn limit_route(
    State((state, class)): State<(AppState, RateClass)>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limits) = state.ctx.limits.clone() else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let key = match class.per() {
        Per::Address => {
            let Ok(from) = ClientAddr::from_request_parts(&mut parts, &state).await;
            keys::by_address(class, from)
        }
        Per::Account => match AuthUser::from_request_parts(&mut parts, &state).await {
            Ok(user) => {
                // The handler takes the verified user from here instead of verifying again.
                parts.extensions.insert(user);
                keys::by_account(class, user.0)
            }
            Err(unauthorized) => return unauthorized.into_response(),
        },
        // The route table's tests refuse such a route; if one slipped through, it is not limited.
        Per::AccountAndAddress => {
            tracing::error!(
                class = class.name(),
                "a route names a limit no route can key"
            );
            return next.run(Request::from_parts(parts, body)).await;
        }
    };
    if let Err(limited) = limits.acquire(&key).await {
        return limited.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The local server's entry point: the client is the TCP peer (`axum::serve` with
/// `into_make_service_with_connect_info::<SocketAddr>`).
pub async fn from_tcp_peer(mut request: Request) -> Request {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(ip) = peer {
        request.extensions_mut().insert(ClientAddr(Some(ip)));
    }
    request
}

/// A Lambda function's entry point: the client is the `sourceIp` API Gateway saw (HTTP API
/// payload 2.0, the only one the functions are built to read), never a header such as
/// `X-Forwarded-For`, which the client writes.
pub async fn from_api_gateway(mut request: Request) -> Request {
    use lambda_http::RequestExt as _;
    use lambda_http::request::RequestContext;
    let source = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.as_deref(),
        _ => None,
    };
    let ip = source.and_then(|raw| raw.trim().parse().ok());
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientAddr(Some(ip)));
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> anyhow::Result<Request> {
        let request = lambda_http::request::from_str(text)
            .map_err(|e| anyhow::anyhow!("not an API Gateway request: {e}"))?;
        Ok(request.map(axum::body::Body::new))
    }

    async fn addr_of(request: Request) -> Option<ClientAddr> {
        from_api_gateway(request)
            .await
            .extensions()
            .get::<ClientAddr>()
            .copied()
    }

    #[tokio::test]
    async fn the_source_ip_of_an_http_api_event_is_the_client() -> anyhow::Result<()> {
        // The checked-in login fixture, with a forwarded-for header the client could have set.
        let text = include_str!("../../../events/http/login.json").replace(
            "\"accept\": \"application/json\",",
            "\"accept\": \"application/json\", \"x-forwarded-for\": \"198.51.100.99\",",
        );
        let request = fixture(&text)?;
        assert!(request.headers().contains_key("x-forwarded-for"));
        let want = ClientAddr(Some("203.0.113.7".parse()?));
        assert_eq!(addr_of(request).await, Some(want));
        Ok(())
    }

    #[tokio::test]
    async fn an_event_without_a_usable_source_ip_names_no_client() -> anyhow::Result<()> {
        let text = include_str!("../../../events/http/login.json").replace(
            "\"sourceIp\": \"203.0.113.7\"",
            "\"sourceIp\": \"somewhere\"",
        );
        assert_eq!(addr_of(fixture(&text)?).await, None);
        let bare = Request::new(axum::body::Body::empty());
        assert_eq!(addr_of(bare).await, None);
        Ok(())
    }

    #[tokio::test]
    async fn the_local_server_names_the_tcp_peer() {
        let mut request = Request::new(axum::body::Body::empty());
        let peer: SocketAddr = ([192, 0, 2, 4], 50_000).into();
        request.extensions_mut().insert(ConnectInfo(peer));
        let request = from_tcp_peer(request).await;
        assert_eq!(
            request.extensions().get::<ClientAddr>(),
            Some(&ClientAddr(Some(peer.ip())))
        );
    }
}
