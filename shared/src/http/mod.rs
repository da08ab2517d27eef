//! The HTTP API of DESIGN section 4, as one axum router: served by the local server over TCP,
//! and by each Lambda function through lambda_http.

pub mod dto;
pub mod extract;
pub mod handlers;
pub mod limit;
pub mod observe;
pub mod problem;
pub mod routes;

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use futures::future::BoxFuture;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::services::{Context, ErrorCode};
use problem::Problem;
use routes::{ENDPOINTS, Endpoint, Function, ROUTES, Route};

/// One dependency that `/health` reports on.
#[derive(Clone)]
pub struct Probe {
    pub name: &'static str,
    pub check: Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>,
}

#[derive(Clone)]
pub struct AppState {
    pub ctx: Context,
    pub probes: Arc<Vec<Probe>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rookery",
        description = "A social-media backend: register, log in, follow, post, read feeds."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration and tokens"),
        (name = "users", description = "Profiles"),
        (name = "follows", description = "The follow graph"),
        (name = "safety", description = "Blocks and mutes"),
        (name = "posts", description = "Posts"),
        (name = "feeds", description = "Home and user feeds"),
        (name = "meta", description = "Health and this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Which routes a router serves: all of them (the local server), or one function's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serve {
    All,
    Function(Function),
}

impl Serve {
    fn includes(self, route: &Route) -> bool {
        match self {
            Self::All => true,
            Self::Function(function) => route.function == function,
        }
    }
}

/// What a router serves: which routes, and their endpoints (handlers). A function binary gets
/// its own from [`crate::served!`], at compile time, and links no other handler.
#[derive(Clone)]
pub struct Served {
    serve: Serve,
    endpoints: Cow<'static, [Endpoint]>,
}

impl Served {
    /// `function`'s `endpoints`, as [`crate::served!`] writes them.
    pub const fn new(function: Function, endpoints: &'static [Endpoint]) -> Self {
        Self {
            serve: Serve::Function(function),
            endpoints: Cow::Borrowed(endpoints),
        }
    }

    /// Every route: the local server.
    pub const fn all() -> Self {
        Self {
            serve: Serve::All,
            endpoints: Cow::Borrowed(&ENDPOINTS),
        }
    }

    /// `function`'s routes, chosen at run time (tests, tools): links every handler.
    pub fn function(function: Function) -> Self {
        let endpoints = ENDPOINTS
            .iter()
            .filter(|endpoint| endpoint.route.function == function)
            .copied()
            .collect();
        Self {
            serve: Serve::Function(function),
            endpoints: Cow::Owned(endpoints),
        }
    }

    pub fn serve(&self) -> Serve {
        self.serve
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }
}

/// The routes served, each registered together with its OpenAPI operation (see
/// [`routes::ENDPOINTS`]), so the document cannot name a route the router lacks, nor the
/// other way round. With the state (a router, not the document), a limited route gets its rate
/// limit's middleware ([`limit::limit_route`]).
fn api(served: &Served, state: Option<&AppState>) -> OpenApiRouter<AppState> {
    served.endpoints().iter().fold(
        OpenApiRouter::with_openapi(ApiDoc::openapi()),
        |api, endpoint| {
            let (schemas, paths, handler) = (endpoint.handler)();
            let handler = match (endpoint.route.limit, state) {
                (Some(class), Some(state)) => handler.route_layer(middleware::from_fn_with_state(
                    (state.clone(), class),
                    limit::limit_route,
                )),
                _ => handler,
            };
            api.routes((schemas, paths, handler))
        },
    )
}

/// The OpenAPI 3.1 document of the whole API.
pub fn openapi() -> OpenApiDoc {
    api(&Served::all(), None).split_for_parts().1
}

/// The document as served, rendered once.
pub fn openapi_document() -> &'static str {
    static DOCUMENT: LazyLock<String> =
        LazyLock::new(|| openapi().to_pretty_json().unwrap_or_default());
    &DOCUMENT
}

/// The whole API, as the local server serves it.
pub fn router(state: AppState) -> Router {
    router_for(state, &Served::all())
}

/// The routes of `served`. The body limit wraps only the served routes, so that an unknown
/// route or a wrong method answers 404 / 405 before the body is looked at. The other routes of
/// the table answer 404 here (a request sent to the wrong function), but a method the API has
/// on no route of that path is still 405: the gateway sends every unmatched request to one
/// function, which must answer as the whole API would.
pub fn router_for(state: AppState, served: &Served) -> Router {
    let serve = served.serve();
    let (router, _) = api(served, Some(&state))
        .route_layer(middleware::from_fn(extract::limit_body))
        .split_for_parts();
    ROUTES
        .iter()
        .filter(|route| !serve.includes(route))
        .fold(router, |router, route| {
            router.route(
                route.path,
                axum::routing::on(route.method.filter(), served_elsewhere),
            )
        })
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(observe::observe))
        .with_state(state)
}

async fn served_elsewhere() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such route here: another function serves it",
    )
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this route does not take that method",
    )
}
