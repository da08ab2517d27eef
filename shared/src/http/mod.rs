//! The HTTP API of DESIGN section 4, as one axum router: served by the local server over TCP,
//! and by each Lambda function through lambda_http.

pub mod dto;
pub mod extract;
pub mod handlers;
pub mod problem;

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use futures::future::BoxFuture;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::services::Context;
use problem::Problem;

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

/// Every route, each registered together with its OpenAPI operation, so the document cannot
/// name a route the router lacks, nor the other way round.
fn routes() -> OpenApiRouter<AppState> {
    use handlers::{auth, feed, follow, meta, posts, users};
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(users::me))
        .routes(routes!(users::profile))
        .routes(routes!(follow::follow, follow::unfollow))
        .routes(routes!(follow::followers))
        .routes(routes!(follow::following))
        .routes(routes!(posts::create))
        .routes(routes!(posts::get, posts::delete))
        .routes(routes!(feed::home))
        .routes(routes!(feed::user_posts))
        .routes(routes!(meta::health))
        .routes(routes!(meta::openapi_json))
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> OpenApiDoc {
    routes().split_for_parts().1
}

/// The document as served, rendered once.
pub fn openapi_document() -> &'static str {
    static DOCUMENT: LazyLock<String> =
        LazyLock::new(|| openapi().to_pretty_json().unwrap_or_default());
    &DOCUMENT
}

/// The whole API. The body limit wraps only matched routes, so that an unknown route or a
/// wrong method answers 404 / 405 before the body is looked at.
pub fn router(state: AppState) -> Router {
    let (router, _) = routes()
        .route_layer(middleware::from_fn(extract::limit_body))
        .split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method",
    )
}
