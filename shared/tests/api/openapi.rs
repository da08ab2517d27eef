//! `/openapi.json` is OpenAPI 3.1, documents exactly the routes of the contract, and every
//! documented operation is served by the router.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use rookery_test_support::TestApp;

/// DESIGN section 4 (with 4.2 and 4.3), by hand: the document must match this list exactly.
const CONTRACT: [(&str, &str); 40] = [
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("get", "/me"),
    ("get", "/users/{username}"),
    ("put", "/users/{username}/follow"),
    ("delete", "/users/{username}/follow"),
    ("get", "/users/{username}/followers"),
    ("get", "/users/{username}/following"),
    ("put", "/users/{username}/block"),
    ("delete", "/users/{username}/block"),
    ("put", "/users/{username}/mute"),
    ("delete", "/users/{username}/mute"),
    ("get", "/me/blocks"),
    ("get", "/me/mutes"),
    ("post", "/posts"),
    ("get", "/posts/{id}"),
    ("delete", "/posts/{id}"),
    ("get", "/feed"),
    ("get", "/users/{username}/posts"),
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("put", "/posts/{id}/like"),
    ("delete", "/posts/{id}/like"),
    ("get", "/posts/{id}/likes"),
    ("put", "/posts/{id}/repost"),
    ("delete", "/posts/{id}/repost"),
    ("get", "/posts/{id}/reposts"),
    ("get", "/posts/{id}/replies"),
    ("get", "/posts/{id}/context"),
    ("get", "/tags/{tag}/posts"),
    ("get", "/notifications"),
    ("get", "/notifications/unread_count"),
    ("post", "/notifications/read"),
    ("patch", "/me"),
    ("put", "/me/password"),
    ("delete", "/me"),
    ("post", "/auth/refresh"),
    ("post", "/auth/logout"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/users"),
];

#[tokio::test]
async fn document_matches_contract_and_router() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let reply = app.get("/openapi.json", None).await?;
    let doc = reply.ok(200)?;
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1")
    );

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let contract: BTreeSet<(String, String)> = CONTRACT
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, contract);

    // Every documented operation reaches a handler: neither "no such route" nor 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{username}", "nobody")
            .replace("{id}", "nothing");
        let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
        let reply = app.send(method.clone(), &concrete, None, None).await?;
        assert_ne!(reply.status.as_u16(), 405, "{method} {concrete}");
        assert_ne!(
            reply.body["detail"],
            Value::from("no such route"),
            "{method} {concrete}"
        );
    }
    // Protected operations declare the bearer scheme, public ones do not.
    let secured = |method: &str, path: &str| !doc["paths"][path][method]["security"].is_null();
    assert!(secured("get", "/feed") && secured("post", "/posts") && secured("get", "/me"));
    assert!(!secured("get", "/users/{username}") && !secured("post", "/auth/login"));
    Ok(())
}
