//! Passwords (bcrypt, off the async executor) and access tokens (HS256 JWT).

use std::time::Duration;

use anyhow::Context as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::domain::{Password, Timestamp, UserId};

pub const ISSUER: &str = "rookery";
pub const AUDIENCE: &str = "rookery-api";

/// bcrypt at a configured cost. Hashing is CPU-bound for tens to hundreds of milliseconds, so it
/// runs on bcrypt's own low-priority threads ([`super::bcrypt_pool`]): the event loop keeps
/// answering other requests meanwhile, even during a login storm.
pub struct PasswordHasher {
    cost: u32,
    /// A hash of a random password, verified against when the login names no user, so that an
    /// unknown user costs the same time as a wrong password.
    decoy: OnceCell<String>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        Self {
            cost,
            decoy: OnceCell::new(),
        }
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        let cost = self.cost;
        super::bcrypt_pool::run(move || bcrypt::hash(password, cost))
            .await?
            .context("bcrypt hash")
    }

    /// Verifies `password` against `hash`, or against the decoy when there is no user, so that
    /// both failures take as long as a success.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let target = match hash {
            Some(hash) => hash.to_owned(),
            None => self.decoy().await?.to_owned(),
        };
        let known_user = hash.is_some();
        // bcrypt only reads 72 bytes: a longer password could never have been registered.
        let too_long = password.len() > Password::MAX_BYTES;
        let candidate: String = if too_long {
            String::new()
        } else {
            password.to_owned()
        };
        let matched = super::bcrypt_pool::run(move || bcrypt::verify(candidate, &target))
            .await?
            .context("bcrypt verify")?;
        Ok(matched && known_user && !too_long)
    }

    async fn decoy(&self) -> anyhow::Result<&str> {
        let cost = self.cost;
        let hash = self
            .decoy
            .get_or_try_init(|| async move {
                let secret = uuid::Uuid::new_v4().to_string();
                super::bcrypt_pool::run(move || bcrypt::hash(secret, cost))
                    .await?
                    .context("bcrypt hash")
            })
            .await?;
        Ok(hash.as_str())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// An issued token and its lifetime in seconds.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

/// Issues and verifies HS256 tokens with `sub`, `iat`, `exp`, `iss` and `aud`.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenService {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["sub", "iat", "exp", "iss", "aud"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    pub fn issue(&self, user: UserId) -> anyhow::Result<IssuedToken> {
        self.issue_at(user, Timestamp::now())
    }

    fn issue_at(&self, user: UserId, now: Timestamp) -> anyhow::Result<IssuedToken> {
        let ttl = i64::try_from(self.ttl.as_secs()).context("token lifetime")?;
        let claims = Claims {
            sub: user.to_string(),
            iat: now.secs(),
            exp: now.secs() + ttl,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".to_owned());
        let access_token =
            jsonwebtoken::encode(&header, &claims, &self.encoding).context("sign token")?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.ttl.as_secs(),
        })
    }

    /// The user a token names, if its signature, algorithm, issuer, audience and lifetime hold.
    pub fn verify(&self, token: &str) -> Result<UserId, InvalidToken> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| InvalidToken)?;
        data.claims.sub.parse().map_err(|_| InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn tokens() -> TokenService {
        TokenService::new(
            b"test-secret-test-secret-test-secret!",
            Duration::from_secs(60),
        )
    }

    #[test]
    fn issued_token_verifies() {
        let user = UserId::new();
        let token = tokens()
            .issue(user)
            .map(|t| t.access_token)
            .unwrap_or_default();
        assert_eq!(tokens().verify(&token).ok(), Some(user));
    }

    #[test]
    fn expired_token_is_rejected() {
        let past = Timestamp::from_millis(Timestamp::now().millis() - 3_600_000);
        let token = tokens()
            .issue_at(UserId::new(), past)
            .map(|t| t.access_token)
            .unwrap_or_default();
        assert!(tokens().verify(&token).is_err());
    }

    #[test]
    fn other_secret_is_rejected() {
        let other = TokenService::new(b"another-secret-another-secret-!!", Duration::from_secs(60));
        let token = other
            .issue(UserId::new())
            .map(|t| t.access_token)
            .unwrap_or_default();
        assert!(tokens().verify(&token).is_err());
    }

    #[test]
    fn alg_none_is_rejected() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = Timestamp::now().secs();
        let claims = format!(
            r#"{{"sub":"{}","iat":{now},"exp":{},"iss":"rookery","aud":"rookery-api"}}"#,
            UserId::new(),
            now + 60
        );
        let token = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims));
        assert!(tokens().verify(&token).is_err());
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(4);
        let password = Password::parse("correct horse")?;
        let hash = hasher.hash(&password).await?;
        assert!(hasher.verify("correct horse", Some(&hash)).await?);
        assert!(!hasher.verify("wrong horse!", Some(&hash)).await?);
        assert!(!hasher.verify("correct horse", None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn overlong_password_never_matches_its_prefix() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(4);
        let base = "x".repeat(72);
        let hash = hasher.hash(&Password::parse(&base)?).await?;
        assert!(!hasher.verify(&format!("{base}y"), Some(&hash)).await?);
        Ok(())
    }
}
