//! Token attacks: every one is 401 on every protected route.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use rookery_test_support::TestApp;

fn sign(secret: &[u8], claims: &Value) -> anyhow::Result<String> {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("JWT".into());
    Ok(jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret),
    )?)
}

fn claims(sub: &str, iat: i64, exp: i64, iss: &str, aud: &str) -> Value {
    json!({"sub": sub, "iat": iat, "exp": exp, "iss": iss, "aud": aud})
}

async fn protected_routes_refuse(
    app: &TestApp,
    token: Option<&str>,
    header: Option<&str>,
) -> anyhow::Result<()> {
    let routes = [
        (Method::GET, "/me"),
        (Method::GET, "/feed"),
        (Method::PUT, "/users/bob/follow"),
        (Method::DELETE, "/users/bob/follow"),
        (Method::POST, "/posts"),
        (
            Method::DELETE,
            "/posts/0190c5e0-0000-7000-8000-000000000000",
        ),
    ];
    for (method, path) in routes {
        let mut request = app.client.request(method.clone(), app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(header) = header {
            request = request.header("Authorization", header);
        }
        if method == Method::POST {
            request = request.json(&json!({"content": "hi"}));
        }
        let reply = app.raw(request).await?;
        reply
            .problem(401)
            .map_err(|e| e.context(format!("{method} {path} with {token:?} / {header:?}")))?;
    }
    Ok(())
}

#[tokio::test]
async fn every_token_attack_is_401() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let good = app.user("ann").await?;
    app.user("bob").await?;
    let secret = std::fs::read_to_string(app.data.path().join("jwt_secret"))?;
    let secret = secret.trim().as_bytes();
    let me: String = app.get("/me", Some(&good)).await?.str("id")?;
    let now = chrono::Utc::now().timestamp();

    // The genuine token works, and a hand-made one with the right secret and claims too: the
    // attacks below fail for their one defect, not for the way they were made.
    app.get("/me", Some(&good)).await?.ok(200)?;
    let crafted = sign(
        secret,
        &claims(&me, now, now + 60, "rookery", "rookery-api"),
    )?;
    app.get("/me", Some(&crafted)).await?.ok(200)?;

    protected_routes_refuse(&app, None, None).await?;
    protected_routes_refuse(&app, None, Some("Bearer")).await?;
    protected_routes_refuse(&app, None, Some(&format!("Basic {good}"))).await?;
    protected_routes_refuse(&app, Some("not.a.token"), None).await?;
    protected_routes_refuse(&app, Some("garbage"), None).await?;

    let expired = sign(
        secret,
        &claims(&me, now - 7200, now - 3600, "rookery", "rookery-api"),
    )?;
    protected_routes_refuse(&app, Some(&expired), None).await?;
    let wrong_audience = sign(
        secret,
        &claims(&me, now, now + 60, "rookery", "someone-else"),
    )?;
    protected_routes_refuse(&app, Some(&wrong_audience), None).await?;
    let wrong_issuer = sign(
        secret,
        &claims(&me, now, now + 60, "mallory", "rookery-api"),
    )?;
    protected_routes_refuse(&app, Some(&wrong_issuer), None).await?;
    let forged = sign(
        b"a-secret-that-rookery-never-used!!",
        &claims(&me, now, now + 60, "rookery", "rookery-api"),
    )?;
    protected_routes_refuse(&app, Some(&forged), None).await?;
    let unknown_user = sign(
        secret,
        &claims(
            "0190c5e0-0000-7000-8000-000000000000",
            now,
            now + 60,
            "rookery",
            "rookery-api",
        ),
    )?;
    app.get("/me", Some(&unknown_user)).await?.problem(401)?;
    let no_exp = sign(
        secret,
        &json!({"sub": me, "iat": now, "iss": "rookery", "aud": "rookery-api"}),
    )?;
    protected_routes_refuse(&app, Some(&no_exp), None).await?;

    // Tampered: the payload changed to another user, the signature kept.
    let parts: Vec<&str> = good.split('.').collect();
    anyhow::ensure!(parts.len() == 3, "a JWT has three parts");
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    payload["exp"] = json!(now + 999_999);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    protected_routes_refuse(&app, Some(&tampered), None).await?;
    // Tampered signature.
    let mut signature = parts[2].to_owned();
    let last = if signature.ends_with('A') { 'B' } else { 'A' };
    signature.pop();
    signature.push(last);
    let bad_signature = format!("{}.{}.{signature}", parts[0], parts[1]);
    protected_routes_refuse(&app, Some(&bad_signature), None).await?;

    // alg: none, with and without a trailing signature.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body =
        URL_SAFE_NO_PAD.encode(claims(&me, now, now + 60, "rookery", "rookery-api").to_string());
    protected_routes_refuse(&app, Some(&format!("{none_header}.{body}.")), None).await?;
    protected_routes_refuse(
        &app,
        Some(&format!("{none_header}.{body}.{}", parts[2])),
        None,
    )
    .await?;
    // HS512 with the right secret: only HS256 is accepted.
    let mut strong = Header::new(Algorithm::HS512);
    strong.typ = Some("JWT".into());
    let hs512 = jsonwebtoken::encode(
        &strong,
        &claims(&me, now, now + 60, "rookery", "rookery-api"),
        &EncodingKey::from_secret(secret),
    )?;
    protected_routes_refuse(&app, Some(&hs512), None).await?;
    Ok(())
}

#[tokio::test]
async fn a_valid_token_for_a_user_who_does_not_exist_writes_nothing() -> anyhow::Result<()> {
    // Signed with the app's own secret, for a user id the database never had (as after a
    // database reset under the same JWT_SECRET).
    let app = TestApp::spawn().await?;
    let secret = std::fs::read_to_string(app.data.path().join("jwt_secret"))?;
    let now = chrono::Utc::now().timestamp();
    let ghost = uuid::Uuid::now_v7().to_string();
    let token = sign(
        secret.trim().as_bytes(),
        &claims(&ghost, now, now + 600, "rookery", "rookery-api"),
    )?;
    app.register("ann").await?;
    let post = app
        .send(
            Method::POST,
            "/posts",
            Some(&token),
            Some(json!({"content": "boo"})),
        )
        .await?;
    post.problem(401)?;
    app.follow(&token, "ann").await?.problem(401)?;
    let ann = app.send(Method::GET, "/users/ann", None, None).await?;
    anyhow::ensure!(
        ann.body["followers_count"] == 0,
        "a ghost follow counted: {}",
        ann.body
    );
    Ok(())
}

#[tokio::test]
async fn login_token_has_the_designed_shape() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.user("ann").await?;
    let reply = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": "ann", "password": "correct horse"})),
        )
        .await?;
    let body = reply.ok(200)?;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap_or_default();
    let parts: Vec<&str> = token.split('.').collect();
    anyhow::ensure!(parts.len() == 3, "three parts");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0])?)?;
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "JWT");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    assert_eq!(claims["iss"], "rookery");
    assert_eq!(claims["aud"], "rookery-api");
    let exp = claims["exp"].as_i64().unwrap_or_default();
    let iat = claims["iat"].as_i64().unwrap_or_default();
    assert_eq!(exp - iat, 3600);
    Ok(())
}
