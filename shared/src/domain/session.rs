//! Refresh tokens: opaque random strings, stored only as their SHA-256 hash, so that a copy of
//! the store cannot be replayed as tokens.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

/// A refresh token as the client holds it: 32 random bytes in base64url (43 characters).
pub struct RefreshToken(SecretString);

impl RefreshToken {
    const LEN: usize = 43;

    /// A fresh token from the operating system's randomness.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        bytes.fill(0);
        Self(SecretString::from(token))
    }

    /// A token a client sent back: it has the shape of one this service issues, or it is
    /// `None` (and so unknown, whatever the store holds).
    pub fn parse(raw: &str) -> Option<Self> {
        let well_formed = raw.len() == Self::LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.expose().as_bytes()).into())
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(..)")
    }
}

/// What the store keeps of a refresh token. SHA-256 without salt is enough here: the token
/// has 256 random bits, so there is nothing to guess that a salt would protect.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The 32 bytes of the digest (SQL Server keeps them as `BINARY(32)`).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as SQLite keeps it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_hashed() {
        let (a, b) = (RefreshToken::generate(), RefreshToken::generate());
        assert_ne!(a.expose(), b.expose());
        assert!(RefreshToken::parse(a.expose()).is_some_and(|p| p.hash() == a.hash()));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().to_hex().len(), 64);
        assert!(!format!("{a:?}{:?}", a.hash()).contains(a.expose()));
    }

    #[test]
    fn anything_else_is_not_a_token() {
        let good = RefreshToken::generate();
        for bad in [
            String::new(),
            good.expose()[1..].to_owned(),
            format!("{}x", good.expose()),
            format!("{}=", &good.expose()[1..]),
            format!("{}/", &good.expose()[1..]),
            "é".repeat(21) + "a",
        ] {
            assert!(RefreshToken::parse(&bad).is_none(), "{bad:?}");
        }
    }
}
