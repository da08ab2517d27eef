//! The route table: every route of the HTTP API, once, with the function that serves it,
//! whether it needs a token (DESIGN section 2), which rate limit it counts against (4.4) and its
//! handler. The local server's router, each HTTP function's router (its endpoints picked at
//! compile time by [`crate::served!`]) and the OpenAPI document are built from it; a test of the
//! workspace (`tests/routes.rs`) holds template.yaml, the cargo-lambda watch router,
//! LocalStack's deploy script and the README's route table to it.

use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use super::AppState;
use super::handlers::{
    account, auth, blocks, feed, follow, interact, meta, notifications, posts, users,
};
use crate::ports::RateClass;

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

/// One route of the API: what the gateway, the README and the tests know about it.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// The path template, `{name}` for a segment, as API Gateway and axum both write it.
    pub path: &'static str,
    pub function: Function,
    pub access: Access,
    /// The rate limit the route counts against, if any (see [`Endpoint::limited`]).
    pub limit: Option<RateClass>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({}, {:?}, limit {:?})",
            self.method.as_str(),
            self.path,
            self.function.name(),
            self.access,
            self.limit
        )
    }
}

/// A route with its handler, which it registers together with its OpenAPI operation; a unit
/// test checks that the operation's method, path and security are the route's.
#[derive(Clone, Copy)]
pub struct Endpoint {
    pub route: Route,
    pub(super) handler: fn() -> UtoipaMethodRouter<AppState>,
}

impl Endpoint {
    /// The route counts against `class`'s limit, checked before its handler runs: by client
    /// address for [`RateClass::Register`] and [`RateClass::LoginAttempts`], by the token's
    /// account (right after the token check) for [`RateClass::Posts`] and [`RateClass::Writes`].
    pub const fn limited(self, class: RateClass) -> Self {
        Self {
            route: Route {
                limit: Some(class),
                ..self.route
            },
            ..self
        }
    }
}

const fn route(
    method: Method,
    path: &'static str,
    function: Function,
    access: Access,
    handler: fn() -> UtoipaMethodRouter<AppState>,
) -> Endpoint {
    Endpoint {
        route: Route {
            method,
            path,
            function,
            access,
            limit: None,
        },
        handler,
    }
}

use Access::{Public, Token};
use Function::{
    Account, FeedRead, Follow, Interact, Login, Notifications, Post, Profile, Register,
};
use Method::{Delete, Get, Patch, Put};
use RateClass::{LoginAttempts, Posts, Writes};

/// Every route of the API (DESIGN section 4), with its handler. A `const`, not a `static`:
/// a function binary takes its own endpoints out of it at compile time ([`crate::served!`]), so
/// that the handlers (and use cases) of the other functions are never linked into it.
pub const ENDPOINTS: [Endpoint; 40] = [
    route(Method::Post, "/auth/register", Register, Public, || {
        routes!(auth::register)
    })
    .limited(RateClass::Register),
    route(Method::Post, "/auth/login", Login, Public, || {
        routes!(auth::login)
    })
    .limited(LoginAttempts),
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
    })
    .limited(Writes),
    route(Delete, "/users/{username}/follow", Follow, Token, || {
        routes!(follow::unfollow)
    })
    .limited(Writes),
    route(Get, "/users/{username}/followers", Follow, Public, || {
        routes!(follow::followers)
    }),
    route(Get, "/users/{username}/following", Follow, Public, || {
        routes!(follow::following)
    }),
    route(Put, "/users/{username}/block", Follow, Token, || {
        routes!(blocks::block)
    })
    .limited(Writes),
    route(Delete, "/users/{username}/block", Follow, Token, || {
        routes!(blocks::unblock)
    })
    .limited(Writes),
    route(Put, "/users/{username}/mute", Follow, Token, || {
        routes!(blocks::mute)
    })
    .limited(Writes),
    route(Delete, "/users/{username}/mute", Follow, Token, || {
        routes!(blocks::unmute)
    })
    .limited(Writes),
    route(Get, "/me/blocks", Follow, Token, || routes!(blocks::blocks)),
    route(Get, "/me/mutes", Follow, Token, || routes!(blocks::mutes)),
    route(Method::Post, "/posts", Post, Token, || {
        routes!(posts::create)
    })
    .limited(Posts),
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
    })
    .limited(Writes),
    route(Delete, "/posts/{id}/like", Interact, Token, || {
        routes!(interact::unlike)
    })
    .limited(Writes),
    route(Get, "/posts/{id}/likes", Interact, Public, || {
        routes!(interact::likes)
    }),
    route(Put, "/posts/{id}/repost", Interact, Token, || {
        routes!(interact::repost)
    })
    .limited(Writes),
    route(Delete, "/posts/{id}/repost", Interact, Token, || {
        routes!(interact::unrepost)
    })
    .limited(Writes),
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
    route(Patch, "/me", Account, Token, || routes!(account::patch_me)).limited(Writes),
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

/// The routes of [`ENDPOINTS`] without their handlers: what a router needs to know of the
/// routes other functions serve, and what the tests hold the deployment files to.
pub static ROUTES: [Route; ENDPOINTS.len()] = {
    let mut routes = [ENDPOINTS[0].route; ENDPOINTS.len()];
    let mut i = 0;
    while i < ENDPOINTS.len() {
        routes[i] = ENDPOINTS[i].route;
        i += 1;
    }
    routes
};

/// Whether `endpoint` is `function`'s (`==` is not callable in a `const fn`).
const fn serves(function: Function, endpoint: &Endpoint) -> bool {
    endpoint.route.function as u8 == function as u8
}

/// How many routes `function` serves: the length of [`endpoints_of`]'s array.
pub const fn count(function: Function) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < ENDPOINTS.len() {
        if serves(function, &ENDPOINTS[i]) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `function`'s endpoints, in table order, evaluated at compile time by [`crate::served!`].
///
/// # Panics
/// At compile time, when `N` is not [`count`]`(function)`.
pub const fn endpoints_of<const N: usize>(function: Function) -> [Endpoint; N] {
    assert!(N == count(function), "N must be count(function)");
    let mut out = [ENDPOINTS[0]; N];
    let (mut i, mut n) = (0, 0);
    while i < ENDPOINTS.len() {
        if serves(function, &ENDPOINTS[i]) {
            out[n] = ENDPOINTS[i];
            n += 1;
        }
        i += 1;
    }
    out
}

/// One HTTP function's routes, chosen at compile time, for a function binary:
/// `rookery::served!(Follow)`. The endpoints are a constant of that binary, so the linker
/// keeps only the handlers they name (issue 12).
#[macro_export]
macro_rules! served {
    ($function:ident) => {{
        use $crate::http::routes::{Endpoint, Function, count, endpoints_of};
        const N: usize = count(Function::$function);
        const ENDPOINTS: [Endpoint; N] = endpoints_of::<N>(Function::$function);
        $crate::http::Served::new(Function::$function, &ENDPOINTS)
    }};
}

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
        for Endpoint { route, handler } in &ENDPOINTS {
            let (_, paths, _) = handler();
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

    /// The writes DESIGN 4.4 leaves unlimited, each for a reason; every other write names its
    /// limit, so that a new write route (a block, a mute) must choose one.
    const UNLIMITED_WRITES: [(Method, &str); 6] = [
        // Deleting one's own posts: 4.4 limits creating them.
        (Delete, "/posts/{id}"),
        // Password re-entry behind a token: 403 on a wrong one, and every session ends on a
        // change or an erasure.
        (Put, "/me/password"),
        (Delete, "/me"),
        // Token rotation and logout: a refresh token is 32 random bytes, nothing to guess.
        (Method::Post, "/auth/refresh"),
        (Method::Post, "/auth/logout"),
        // Marking one's own notifications read.
        (Method::Post, "/notifications/read"),
    ];

    #[test]
    fn every_write_names_its_limit_or_why_it_has_none() {
        for route in &ROUTES {
            let write = route.method != Get;
            let exempt = UNLIMITED_WRITES.contains(&(route.method, route.path));
            assert_eq!(
                route.limit.is_some(),
                write && !exempt,
                "{route:?}: a write route counts against a limit (`.limited(Writes)`), or is \
                 listed in UNLIMITED_WRITES with the reason"
            );
        }
    }

    /// A route's limit can only be one the middleware can key before the handler runs: by
    /// address on any route, by account on a route that takes a token. Failed logins are the
    /// login use case's.
    #[test]
    fn route_limits_are_keyed_by_what_the_route_knows() {
        use crate::ports::Per;
        for route in &ROUTES {
            match route.limit.map(RateClass::per) {
                None | Some(Per::Address) => {}
                Some(Per::Account) => assert_eq!(route.access, Token, "{route:?}"),
                Some(Per::AccountAndAddress) => panic!("{route:?}: not a route's limit"),
            }
        }
    }

    /// The OpenAPI document is true about 429: an operation declares it exactly when its route
    /// is limited.
    #[test]
    fn limited_routes_document_429() {
        for Endpoint { route, handler } in &ENDPOINTS {
            let (_, paths, _) = handler();
            let declares = paths.paths.values().any(|item| {
                [&item.get, &item.post, &item.put, &item.patch, &item.delete]
                    .into_iter()
                    .flatten()
                    .any(|op| op.responses.responses.contains_key("429"))
            });
            assert_eq!(declares, route.limit.is_some(), "{route:?}");
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

    /// What a function binary serves (chosen at compile time) is what the table gives it.
    #[test]
    fn a_function_serves_exactly_its_routes_of_the_table() {
        let served = crate::served!(Follow);
        let mut expected = ROUTES.iter().filter(|r| r.function == Function::Follow);
        for endpoint in served.endpoints() {
            let route = expected.next().map(|r| (r.method, r.path));
            assert_eq!(route, Some((endpoint.route.method, endpoint.route.path)));
        }
        assert!(expected.next().is_none());
        assert_eq!(count(Function::Register), 1);
    }
}
