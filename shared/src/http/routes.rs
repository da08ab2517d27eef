//! The route table: every route of the HTTP API, once, with the function that serves it and
//! whether it needs a token (DESIGN section 2). The local server's router, each HTTP
//! function's router and the OpenAPI document are built from it; a test of the workspace
//! (`tests/routes.rs`) holds template.yaml, the cargo-lambda watch router, LocalStack's deploy
//! script and the README's route table to it.

use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use super::AppState;
use super::handlers::{
    account, auth, blocks, feed, follow, interact, meta, notifications, posts, users,
};

/// The HTTP functions of DESIGN section 3: each serves the routes the table gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    Register,
    Login,
    Profile,
    Follow,
    Post,
    FeedRead,
    Interact,
    Notifications,
    Account,
}

impl Function {
    pub const ALL: [Self; 9] = [
        Self::Register,
        Self::Login,
        Self::Profile,
        Self::Follow,
        Self::Post,
        Self::FeedRead,
        Self::Interact,
        Self::Notifications,
        Self::Account,
    ];

    /// The binary's name, as in `functions/<name>/`, template.yaml and `cargo lambda watch`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::Profile => "profile",
            Self::Follow => "follow",
            Self::Post => "post",
            Self::FeedRead => "feed-read",
            Self::Interact => "interact",
            Self::Notifications => "notifications",
            Self::Account => "account",
        }
    }
}

/// Who may call a route. Protected handlers check the token themselves as well, so a
/// function reached without the gateway's authorizer is still safe. A public route that shows
/// viewer state reads a token when one is sent (and refuses a bad one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    pub(super) const fn filter(self) -> axum::routing::MethodFilter {
        use axum::routing::MethodFilter;
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route. `handler` registers the handler together with its OpenAPI operation; a unit
/// test checks that the operation's method, path and security are the ones written here.
pub struct Route {
    pub method: Method,
    /// The path template, `{name}` for a segment, as API Gateway and axum both write it.
    pub path: &'static str,
    pub function: Function,
    pub access: Access,
    pub(super) handler: fn() -> UtoipaMethodRouter<AppState>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}, {:?})",
            self.method.as_str(),
            self.path,
            self.function.name(),
            self.access
        )
    }
}

const fn route(
    method: Method,
    path: &'static str,
    function: Function,
    access: Access,
    handler: fn() -> UtoipaMethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        function,
        access,
        handler,
    }
}

use Access::{Public, Token};
use Function::{
    Account, FeedRead, Follow, Interact, Login, Notifications, Post, Profile, Register,
};
use Method::{Delete, Get, Patch, Put};

/// Every route of the API (DESIGN section 4).
pub static ROUTES: [Route; 40] = [
    route(Method::Post, "/auth/register", Register, Public, || {
        routes!(auth::register)
    }),
    route(Method::Post, "/auth/login", Login, Public, || {
        routes!(auth::login)
    }),
    route(Get, "/me", Profile, Token, || routes!(users::me)),
    route(Get, "/users/{username}", Profile, Public, || {
        routes!(users::profile)
    }),
    route(Get, "/health", Profile, Public, || routes!(meta::health)),
    route(Get, "/openapi.json", Profile, Public, || {
        routes!(meta::openapi_json)
    }),
    route(Put, "/users/{username}/follow", Follow, Token, || {
        routes!(follow::follow)
    }),
    route(Delete, "/users/{username}/follow", Follow, Token, || {
        routes!(follow::unfollow)
    }),
    route(Get, "/users/{username}/followers", Follow, Public, || {
        routes!(follow::followers)
    }),
    route(Get, "/users/{username}/following", Follow, Public, || {
        routes!(follow::following)
    }),
    route(Put, "/users/{username}/block", Follow, Token, || {
        routes!(blocks::block)
    }),
    route(Delete, "/users/{username}/block", Follow, Token, || {
        routes!(blocks::unblock)
    }),
    route(Put, "/users/{username}/mute", Follow, Token, || {
        routes!(blocks::mute)
    }),
    route(Delete, "/users/{username}/mute", Follow, Token, || {
        routes!(blocks::unmute)
    }),
    route(Get, "/me/blocks", Follow, Token, || routes!(blocks::blocks)),
    route(Get, "/me/mutes", Follow, Token, || routes!(blocks::mutes)),
    route(Method::Post, "/posts", Post, Token, || {
        routes!(posts::create)
    }),
    route(Get, "/posts/{id}", Post, Public, || routes!(posts::get)),
    route(Delete, "/posts/{id}", Post, Token, || {
        routes!(posts::delete)
    }),
    route(Get, "/feed", FeedRead, Token, || routes!(feed::home)),
    route(Get, "/users/{username}/posts", FeedRead, Public, || {
        routes!(feed::user_posts)
    }),
    route(Put, "/posts/{id}/like", Interact, Token, || {
        routes!(interact::like)
    }),
    route(Delete, "/posts/{id}/like", Interact, Token, || {
        routes!(interact::unlike)
    }),
    route(Get, "/posts/{id}/likes", Interact, Public, || {
        routes!(interact::likes)
    }),
    route(Put, "/posts/{id}/repost", Interact, Token, || {
        routes!(interact::repost)
    }),
    route(Delete, "/posts/{id}/repost", Interact, Token, || {
        routes!(interact::unrepost)
    }),
    route(Get, "/posts/{id}/reposts", Interact, Public, || {
        routes!(interact::reposts)
    }),
    route(Get, "/posts/{id}/replies", Interact, Public, || {
        routes!(interact::replies)
    }),
    route(Get, "/posts/{id}/context", Interact, Public, || {
        routes!(interact::context)
    }),
    route(Get, "/tags/{tag}/posts", Interact, Public, || {
        routes!(interact::tag_posts)
    }),
    route(Get, "/notifications", Notifications, Token, || {
        routes!(notifications::list)
    }),
    route(
        Get,
        "/notifications/unread_count",
        Notifications,
        Token,
        || routes!(notifications::unread_count),
    ),
    route(
        Method::Post,
        "/notifications/read",
        Notifications,
        Token,
        || routes!(notifications::mark_read),
    ),
    route(Patch, "/me", Account, Token, || routes!(account::patch_me)),
    route(Put, "/me/password", Account, Token, || {
        routes!(account::change_password)
    }),
    route(Delete, "/me", Account, Token, || {
        routes!(account::delete_me)
    }),
    route(Method::Post, "/auth/refresh", Account, Public, || {
        routes!(account::refresh)
    }),
    route(Method::Post, "/auth/logout", Account, Public, || {
        routes!(account::logout)
    }),
    route(Get, "/.well-known/jwks.json", Account, Public, || {
        routes!(account::jwks)
    }),
    route(Get, "/users", Account, Public, || routes!(account::search)),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::openapi::path::HttpMethod;

    use super::*;

    fn http_method(method: Method) -> HttpMethod {
        match method {
            Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Put => HttpMethod::Put,
            Method::Patch => HttpMethod::Patch,
            Delete => HttpMethod::Delete,
        }
    }

    /// The table cannot say one thing and the handler's annotation another: each entry's
    /// handler registers exactly its method and path, with a bearer requirement exactly when
    /// the entry says `Token`.
    #[test]
    fn every_entry_matches_its_handler() {
        for route in &ROUTES {
            let (_, paths, _) = (route.handler)();
            let items: Vec<_> = paths.paths.iter().collect();
            let [(path, item)] = items.as_slice() else {
                panic!("{route:?}: the handler registers {} paths", items.len());
            };
            assert_eq!(path.as_str(), route.path, "{route:?}");
            let operations: Vec<_> = [
                (HttpMethod::Get, &item.get),
                (HttpMethod::Post, &item.post),
                (HttpMethod::Put, &item.put),
                (HttpMethod::Patch, &item.patch),
                (HttpMethod::Delete, &item.delete),
            ]
            .into_iter()
            .filter_map(|(method, op)| op.as_ref().map(|op| (method, op)))
            .collect();
            let [(method, operation)] = operations.as_slice() else {
                panic!(
                    "{route:?}: the handler registers {} methods",
                    operations.len()
                );
            };
            assert!(
                *method == http_method(route.method),
                "{route:?}: another method"
            );
            let bearer = operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty());
            assert_eq!(bearer, route.access == Token, "{route:?}: security");
        }
    }

    #[test]
    fn no_route_is_listed_twice() {
        let unique: BTreeSet<_> = ROUTES.iter().map(|r| (r.path, r.method)).collect();
        assert_eq!(unique.len(), ROUTES.len());
    }

    #[test]
    fn every_http_function_serves_a_route() {
        for function in Function::ALL {
            assert!(
                ROUTES.iter().any(|r| r.function == function),
                "{function:?}"
            );
        }
    }
}
