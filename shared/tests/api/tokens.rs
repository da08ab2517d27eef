//! Token attacks: every one is 401 on every protected route.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rookery::services::SigningKey;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use rookery_test_support::{TestApp, keys};

/// The local server's signing key (generated in its data folder) and its `kid`.
fn app_key(app: &TestApp) -> anyhow::Result<(EncodingKey, String)> {
    let pem = std::fs::read_to_string(app.data.path().join("jwt_ed25519.pem"))?;
    let kid = SigningKey::from_pem(&pem)?.public().kid().to_owned();
    Ok((keys::encoding_key(&pem)?, kid))
}

fn sign_as(
    key: &EncodingKey,
    alg: Algorithm,
    kid: Option<&str>,
    claims: &Value,
) -> anyhow::Result<String> {
    let mut header = Header::new(alg);
    header.typ = Some("JWT".into());
    header.kid = kid.map(str::to_owned);
    Ok(jsonwebtoken::encode(&header, claims, key)?)
}

fn sign(key: &(EncodingKey, String), claims: &Value) -> anyhow::Result<String> {
    sign_as(&key.0, Algorithm::EdDSA, Some(&key.1), claims)
}

fn claims(sub: &str, iat: i64, exp: i64, iss: &str, aud: &str) -> Value {
    json!({"sub": sub, "sid": uuid::Uuid::now_v7().to_string(), "iat": iat, "exp": exp,
           "iss": iss, "aud": aud})
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
    let key = app_key(&app)?;
    let me: String = app.get("/me", Some(&good)).await?.str("id")?;
    let now = chrono::Utc::now().timestamp();

    // The genuine token works, and a hand-made one with the right key and claims too: the
    // attacks below fail for their one defect, not for the way they were made.
    app.get("/me", Some(&good)).await?.ok(200)?;
    let crafted = sign(&key, &claims(&me, now, now + 60, "rookery", "rookery-api"))?;
    app.get("/me", Some(&crafted)).await?.ok(200)?;

    protected_routes_refuse(&app, None, None).await?;
    protected_routes_refuse(&app, None, Some("Bearer")).await?;
    protected_routes_refuse(&app, None, Some(&format!("Basic {good}"))).await?;
    protected_routes_refuse(&app, Some("not.a.token"), None).await?;
    protected_routes_refuse(&app, Some("garbage"), None).await?;

    let expired = sign(
        &key,
        &claims(&me, now - 7200, now - 3600, "rookery", "rookery-api"),
    )?;
    protected_routes_refuse(&app, Some(&expired), None).await?;
    let wrong_audience = sign(&key, &claims(&me, now, now + 60, "rookery", "someone-else"))?;
    protected_routes_refuse(&app, Some(&wrong_audience), None).await?;
    let wrong_issuer = sign(&key, &claims(&me, now, now + 60, "mallory", "rookery-api"))?;
    protected_routes_refuse(&app, Some(&wrong_issuer), None).await?;
    // Signed by another key that claims the app key's id.
    let other = SigningKey::generate().to_pem()?;
    let other = keys::encoding_key(other.expose_secret())?;
    let forged = sign(
        &(other, key.1.clone()),
        &claims(&me, now, now + 60, "rookery", "rookery-api"),
    )?;
    protected_routes_refuse(&app, Some(&forged), None).await?;
    // The right key without its id, or under an id the server does not know.
    let claims_now = claims(&me, now, now + 60, "rookery", "rookery-api");
    let no_kid = sign_as(&key.0, Algorithm::EdDSA, None, &claims_now)?;
    protected_routes_refuse(&app, Some(&no_kid), None).await?;
    let unknown_kid = sign_as(
        &key.0,
        Algorithm::EdDSA,
        Some("someone-elses-key"),
        &claims_now,
    )?;
    protected_routes_refuse(&app, Some(&unknown_kid), None).await?;
    // No session id: no way to revoke it, so no token.
    let no_sid = sign(
        &key,
        &json!({"sub": me, "iat": now, "exp": now + 60, "iss": "rookery", "aud": "rookery-api"}),
    )?;
    protected_routes_refuse(&app, Some(&no_sid), None).await?;
    let unknown_user = sign(
        &key,
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
        &key,
        &json!({"sub": me, "sid": uuid::Uuid::now_v7().to_string(), "iat": now, "iss": "rookery", "aud": "rookery-api"}),
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
    // Algorithm confusion: HS256 keyed with the public key the server publishes.
    let jwks = app.get("/.well-known/jwks.json", None).await?;
    let jwks = jwks.ok(200)?;
    let x = jwks["keys"][0]["x"].as_str().unwrap_or_default().to_owned();
    let confused = keys::hs256(
        &json!({"alg": "HS256", "typ": "JWT", "kid": key.1}),
        &claims_now,
        x.as_bytes(),
    )?;
    protected_routes_refuse(&app, Some(&confused), None).await?;
    Ok(())
}

#[tokio::test]
async fn a_valid_token_for_a_user_who_does_not_exist_writes_nothing() -> anyhow::Result<()> {
    // Signed with the app's own key, for a user id the database never had (as after a
    // database reset under the same key).
    let app = TestApp::spawn().await?;
    let key = app_key(&app)?;
    let now = chrono::Utc::now().timestamp();
    let ghost = uuid::Uuid::now_v7().to_string();
    let token = sign(
        &key,
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
    assert_eq!(body["expires_in"], 900);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() == 43)
    );
    let token = body["access_token"].as_str().unwrap_or_default();
    let parts: Vec<&str> = token.split('.').collect();
    anyhow::ensure!(parts.len() == 3, "three parts");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0])?)?;
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT");
    let jwks = app.get("/.well-known/jwks.json", None).await?;
    let jwks = jwks.ok(200)?;
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    assert_eq!(claims["iss"], "rookery");
    assert_eq!(claims["aud"], "rookery-api");
    let exp = claims["exp"].as_i64().unwrap_or_default();
    let iat = claims["iat"].as_i64().unwrap_or_default();
    assert_eq!(exp - iat, 900);
    assert!(
        claims["sid"]
            .as_str()
            .is_some_and(|sid| uuid::Uuid::parse_str(sid).is_ok())
    );
    Ok(())
}
