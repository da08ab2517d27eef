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
