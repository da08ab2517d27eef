//! A fixed token key for tests that start functions with the settings of a deployment.

use rookery::services::{KeySet, SigningKey};

/// RFC 8037's example Ed25519 key (appendix A.1) as PKCS#8 PEM: published, so for tests only.
pub const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
";

/// An Ed25519 private key in PKCS#8 PEM as jsonwebtoken signs with it, for tests that craft
/// tokens of their own.
///
/// # Errors
/// The text is not such a key.
pub fn encoding_key(pem: &str) -> anyhow::Result<jsonwebtoken::EncodingKey> {
    rookery::services::tokens::install_crypto();
    use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)?;
    Ok(jsonwebtoken::EncodingKey::from_ed_der(
        key.to_pkcs8_der()?.as_bytes(),
    ))
}

/// The JWK Set of [`PRIVATE_KEY`]'s public half, as `JWT_PUBLIC_KEYS` takes it.
///
/// # Errors
/// Never for the constant key; the signature keeps `unwrap` out of the tests.
pub fn public_keys() -> anyhow::Result<String> {
    let key = SigningKey::from_pem(PRIVATE_KEY)?;
    Ok(KeySet::default()
        .with(key.public().clone())
        .to_jwks()
        .to_string())
}

/// An HS256 token (`header.claims.signature`) keyed with `secret`, signed here because the
/// app's jsonwebtoken has no HMAC: for the algorithm-confusion attack, where a forger keys
/// HMAC with a public key the server publishes.
///
/// # Errors
/// None in practice: HMAC takes a key of any length.
pub fn hs256(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    secret: &[u8],
) -> anyhow::Result<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::Mac as _;
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret)?;
    mac.update(message.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    Ok(format!("{message}.{signature}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn hs256_signs_as_openssl_does() -> anyhow::Result<()> {
        // The signature from `openssl dgst -sha256 -hmac secret` over the first two parts.
        let token = super::hs256(&json!({"alg": "HS256"}), &json!({"sub": "x"}), b"secret")?;
        assert_eq!(
            token,
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.s-j4haezxh6wrOeRmpuRS-Rw8jJk0bExcSPOJv4OfXE"
        );
        Ok(())
    }
}
