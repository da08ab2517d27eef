//! Access tokens: Ed25519-signed JWTs (`alg: EdDSA`) with a `kid` header, verified against a
//! set of public keys. One key signs; several may verify, so a key can rotate without
//! invalidating the tokens it signed (DESIGN 4.3). Only the functions that issue tokens hold
//! the private key; the others and the authorizer hold [`KeySet`]s of public keys.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng as _;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::domain::{SessionId, Timestamp, UserId};

mod eddsa;

pub use eddsa::install as install_crypto;

pub const ISSUER: &str = "rookery";
pub const AUDIENCE: &str = "rookery-api";

/// A key that cannot be used, with what is wrong with it (never the key itself).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

fn key_error(reason: impl Into<String>) -> KeyError {
    KeyError(reason.into())
}

/// A public key that verifies tokens, known by its `kid`: the key's JWK thumbprint (RFC 7638),
/// so that a key's id is derived from the key and can never name another one.
#[derive(Clone)]
pub struct PublicKey {
    kid: String,
    x: String,
    decoding: DecodingKey,
}

impl PublicKey {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        let x = URL_SAFE_NO_PAD.encode(bytes);
        // RFC 7638: the required members in lexicographic order, without white space.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self {
            kid,
            decoding: DecodingKey::from_ed_der(&bytes),
            x,
        }
    }

    /// A key of a JWK Set: an Ed25519 `OKP` key. A `kid` other than its thumbprint is refused,
    /// so the set that verifies and the key that signs cannot disagree about names.
    fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") {
            return Err(key_error(
                "every key must be an Ed25519 key (kty OKP, crv Ed25519)",
            ));
        }
        let x = field("x").ok_or_else(|| key_error("a key has no x"))?;
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| key_error("a key's x is not 32 bytes of base64url"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| key_error("a key's x is not an Ed25519 point"))?;
        let key = Self::from_bytes(bytes);
        match field("kid") {
            Some(kid) if kid != key.kid => Err(key_error(format!(
                "kid {kid:?} is not its key's thumbprint {:?}",
                key.kid
            ))),
            _ => Ok(key),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.kid)
    }
}

/// The private key that signs tokens (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519`
/// writes it).
pub struct SigningKey {
    encoding: EncodingKey,
    pkcs8: ed25519_dalek::pkcs8::SecretDocument,
    public: PublicKey,
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        seed.fill(0);
        Self::from_dalek(&key).unwrap_or_else(|_| unreachable_key())
    }

    /// A key from its PKCS#8 PEM.
    ///
    /// # Errors
    /// The text is not an Ed25519 private key in PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|_| key_error("must be an Ed25519 private key in PKCS#8 PEM"))?;
        Self::from_dalek(&key)
    }

    fn from_dalek(key: &ed25519_dalek::SigningKey) -> Result<Self, KeyError> {
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|_| key_error("cannot encode the key"))?;
        Ok(Self {
            encoding: EncodingKey::from_ed_der(pkcs8.as_bytes()),
            public: PublicKey::from_bytes(key.verifying_key().to_bytes()),
            pkcs8,
        })
    }

    /// The key as PKCS#8 PEM, to keep in a file or a secret.
    ///
    /// # Errors
    /// The key cannot be encoded.
    pub fn to_pem(&self) -> anyhow::Result<SecretString> {
        let pem = self
            .pkcs8
            .to_pem(
                "PRIVATE KEY",
                ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
            )
            .context("encode the signing key")?;
        Ok(SecretString::from(pem.as_str()))
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

/// `generate` encodes a key it just made; that cannot fail, and a panic would be a bug in
/// ed25519-dalek, not something a request can cause.
#[allow(clippy::panic)]
fn unreachable_key() -> SigningKey {
    panic!("a freshly generated Ed25519 key could not be encoded")
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public.kid)
    }
}

/// The public keys that verify tokens, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl KeySet {
    /// A JWK Set (`{"keys": [...]}`) of Ed25519 keys, as `GET /.well-known/jwks.json` serves it.
    ///
    /// # Errors
    /// The text is not such a set, or it holds no key.
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let set: Value =
            serde_json::from_str(json).map_err(|_| key_error("must be a JWK Set (JSON)"))?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| key_error("must be a JWK Set: {\"keys\": [...]}"))?;
        let mut out = Self::default();
        for jwk in keys {
            out = out.with(PublicKey::from_jwk(jwk)?);
        }
        if out.is_empty() {
            return Err(key_error("holds no key"));
        }
        Ok(out)
    }

    /// This set and `key` (once).
    pub fn with(mut self, key: PublicKey) -> Self {
        if self.get(key.kid()).is_none() {
            self.keys.push(key);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    pub fn to_jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(PublicKey::jwk).collect::<Vec<_>>() })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// An issued access token and its lifetime in seconds.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

/// What a valid access token proves: who, and in which session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub user: UserId,
    pub session: SessionId,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

/// Issues (with a signing key) and verifies (with the key set) access tokens with `sub`,
/// `sid`, `iat`, `exp`, `iss` and `aud`.
pub struct TokenService {
    signer: Option<SigningKey>,
    keys: KeySet,
    validation: Validation,
    ttl: Duration,
    /// Tokens whose signature this process checked, with their expiry: a client sends one
    /// token with every request for its whole lifetime, so the signature is checked once and
    /// later requests cost a hash look-up (the feed benchmark in the issue 14 note shows what
    /// this gave back). A token string is its own proof: the same bytes verify the same way
    /// until they expire.
    verified: Mutex<HashMap<String, (Verified, i64)>>,
}

/// Tokens remembered as verified, at most (the map is emptied when full; a token is a few
/// hundred bytes, so the map stays around a megabyte or two).
const VERIFIED_CAPACITY: usize = 4_096;

impl TokenService {
    /// A service that only verifies, with `keys`.
    pub fn verifying(keys: KeySet, ttl: Duration) -> Self {
        eddsa::install();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["sub", "iat", "exp", "iss", "aud"]);
        validation.leeway = 0;
        Self {
            signer: None,
            keys,
            validation,
            ttl,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// A service that signs with `signer` and verifies with `keys` and the signer's own key.
    pub fn signing(signer: SigningKey, keys: KeySet, ttl: Duration) -> Self {
        let keys = keys.with(signer.public().clone());
        Self {
            signer: Some(signer),
            ..Self::verifying(keys, ttl)
        }
    }

    /// Whether this service holds the signing key (only the functions that issue tokens do).
    pub fn can_issue(&self) -> bool {
        self.signer.is_some()
    }

    /// How long an access token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// # Errors
    /// This service holds no signing key (a function that only verifies), or signing failed.
    pub fn issue(&self, user: UserId, session: SessionId) -> anyhow::Result<IssuedToken> {
        self.issue_at(user, session, Timestamp::now())
    }

    fn issue_at(
        &self,
        user: UserId,
        session: SessionId,
        now: Timestamp,
    ) -> anyhow::Result<IssuedToken> {
        let signer = self
            .signer
            .as_ref()
            .context("this function holds no signing key")?;
        let ttl = i64::try_from(self.ttl.as_secs()).context("token lifetime")?;
        let claims = Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            iat: now.secs(),
            exp: now.secs() + ttl,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(signer.public.kid.clone());
        let access_token =
            jsonwebtoken::encode(&header, &claims, &signer.encoding).context("sign token")?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.ttl.as_secs(),
        })
    }

    /// Who a token names, if its `kid` is a key of the set and its signature, algorithm,
    /// issuer, audience and lifetime hold. Whether its session was revoked is
    /// [`super::Revocations`]' question.
    pub fn verify(&self, token: &str) -> Result<Verified, InvalidToken> {
        let now = Timestamp::now().secs();
        if let Ok(verified) = self.verified.lock() {
            match verified.get(token) {
                Some((known, exp)) if now <= *exp => return Ok(*known),
                Some(_) => return Err(InvalidToken), // expired since
                None => {}
            }
        }
        let (known, exp) = self.verify_signature(token)?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
            verified.insert(token.to_owned(), (known, exp));
        }
        Ok(known)
    }

    fn verify_signature(&self, token: &str) -> Result<(Verified, i64), InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidToken)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(InvalidToken)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .map_err(|_| InvalidToken)?;
        let verified = Verified {
            user: data.claims.sub.parse().map_err(|_| InvalidToken)?,
            session: data.claims.sid.parse().map_err(|_| InvalidToken)?,
        };
        Ok((verified, data.claims.exp))
    }

    /// The verification keys as a JWK Set, for `GET /.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        self.keys.to_jwks()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn token(service: &TokenService, user: UserId) -> String {
        service
            .issue(user, SessionId::new())
            .map(|t| t.access_token)
            .unwrap_or_default()
    }

    #[test]
    fn issued_token_verifies_with_its_session() -> anyhow::Result<()> {
        let service = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        let (user, session) = (UserId::new(), SessionId::new());
        let issued = service.issue(user, session)?;
        assert_eq!(issued.expires_in, 60);
        assert_eq!(
            service.verify(&issued.access_token).ok(),
            Some(Verified { user, session })
        );
        let header = jsonwebtoken::decode_header(&issued.access_token)?;
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(
            header.kid.as_deref(),
            Some(service.jwks()["keys"][0]["kid"].as_str().unwrap_or("?"))
        );
        Ok(())
    }

    #[test]
    fn a_verifying_service_verifies_but_cannot_issue() -> anyhow::Result<()> {
        let signer = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        let keys = KeySet::from_jwks(&signer.jwks().to_string())?;
        let verifier = TokenService::verifying(keys, TTL);
        let user = UserId::new();
        assert_eq!(
            verifier.verify(&token(&signer, user)).map(|v| v.user).ok(),
            Some(user)
        );
        assert!(verifier.issue(user, SessionId::new()).is_err());
        Ok(())
    }

    #[test]
    fn after_rotation_the_old_key_still_verifies_and_the_new_one_signs() -> anyhow::Result<()> {
        let old = SigningKey::generate();
        let old_kid = old.public().kid().to_owned();
        let before = TokenService::signing(old, KeySet::default(), TTL);
        let old_token = token(&before, UserId::new());
        // Rotation: the new key signs; the old public key stays in the set until the last
        // token it signed has expired.
        let published = KeySet::from_jwks(&before.jwks().to_string())?;
        let new = SigningKey::generate();
        let new_kid = new.public().kid().to_owned();
        let after = TokenService::signing(new, published, TTL);
        assert!(after.verify(&old_token).is_ok());
        let new_token = token(&after, UserId::new());
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)?.kid,
            Some(new_kid.clone())
        );
        assert_ne!(old_kid, new_kid);
        assert_eq!(after.jwks()["keys"].as_array().map(Vec::len), Some(2));
        // A service that dropped the old key refuses its tokens.
        let dropped = TokenService::verifying(
            KeySet::from_jwks(&json!({"keys": [after.jwks()["keys"][1]]}).to_string())?,
            TTL,
        );
        assert!(dropped.verify(&old_token).is_err());
        assert!(dropped.verify(&new_token).is_ok());
        Ok(())
    }

    #[test]
    fn a_key_outside_the_set_is_refused() {
        let service = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        let other = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        assert!(service.verify(&token(&other, UserId::new())).is_err());
    }

    #[test]
    fn expired_token_is_rejected() {
        let service = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        let past = Timestamp::from_millis(Timestamp::now().millis() - 3_600_000);
        let token = service
            .issue_at(UserId::new(), SessionId::new(), past)
            .map(|t| t.access_token)
            .unwrap_or_default();
        assert!(!token.is_empty());
        assert!(service.verify(&token).is_err());
    }

    #[test]
    fn a_token_verified_before_is_answered_alike_and_still_expires() {
        let service = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        let (user, session) = (UserId::new(), SessionId::new());
        let token = token(&service, user);
        let first = service.verify(&token).map(|v| v.user).ok();
        assert_eq!(first, Some(user));
        assert_eq!(service.verify(&token).map(|v| v.user).ok(), Some(user));
        // A remembered entry past its expiry is refused, whatever the map says.
        if let Ok(mut verified) = service.verified.lock() {
            verified.insert(
                token.clone(),
                (Verified { user, session }, Timestamp::now().secs() - 1),
            );
        }
        assert!(service.verify(&token).is_err());
        // A tampered copy is not the remembered string.
        let tampered = format!("{token}x");
        assert!(service.verify(&tampered).is_err());
    }

    #[test]
    fn alg_none_is_rejected() {
        let service = TokenService::signing(SigningKey::generate(), KeySet::default(), TTL);
        let kid = service.jwks()["keys"][0]["kid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let now = Timestamp::now().secs();
        let claims = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","sid":"{}","iat":{now},"exp":{},"iss":"rookery","aud":"rookery-api"}}"#,
            UserId::new(),
            SessionId::new(),
            now + 60
        ));
        let none = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#));
        assert!(service.verify(&format!("{none}.{claims}.")).is_err());
        // HS256 keyed with the public key (algorithm confusion) is forged against the running
        // API in tests/api/tokens.rs, which can sign HMAC; `eddsa` refuses any other algorithm.
    }

    #[test]
    fn keys_round_trip_through_pem_and_jwks() -> anyhow::Result<()> {
        let key = SigningKey::generate();
        let again = SigningKey::from_pem(secrecy::ExposeSecret::expose_secret(&key.to_pem()?))?;
        assert_eq!(key.public().kid(), again.public().kid());
        // RFC 8037's example key (appendix A.1) in the PEM openssl writes (`openssl genpkey
        // -algorithm ed25519`); appendix A.3 gives its thumbprint.
        let openssl = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
        let parsed = SigningKey::from_pem(openssl)?;
        assert_eq!(
            parsed.public().kid(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        assert!(SigningKey::from_pem("not a key").is_err());
        for bad in [
            "{}",
            r#"{"keys": []}"#,
            r#"{"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}"#,
            r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ"}]}"#,
        ] {
            assert!(KeySet::from_jwks(bad).is_err(), "{bad}");
        }
        let mut jwk = key.public().jwk();
        jwk["kid"] = json!("chosen-by-hand");
        assert!(KeySet::from_jwks(&json!({"keys": [jwk]}).to_string()).is_err());
        Ok(())
    }
}
