//! jsonwebtoken's crypto provider for the one algorithm tokens use, Ed25519 (`alg: EdDSA`).
//!
//! The crate's `rust_crypto` provider also builds RSA, ECDSA (P-256, P-384) and HMAC keys, so
//! every function that reads a token linked all four for tokens that are only ever EdDSA
//! (issue 12: each function's binary links only what it uses). This one refuses any other
//! algorithm, as [`super::TokenService`]'s validation does before it.

use std::sync::Once;

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

static EDDSA_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    // JWKs are written and read by the token service itself (`KeySet`), not by jsonwebtoken.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes the EdDSA provider jsonwebtoken's, before its first use: without a backend feature,
/// jsonwebtoken panics on a signature it has no provider for. Every [`super::TokenService`]
/// calls it; so do tests that sign tokens of their own.
pub fn install() {
    static INSTALLED: Once = Once::new();
    // An error means a provider is installed already; it can only be this one, as nothing
    // else in the build names one.
    INSTALLED.call_once(|| {
        let _ = EDDSA_ONLY.install_default();
    });
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdDsaSigner(key)))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdDsaVerifier(key)))
}

struct EdDsaSigner(SigningKey);

impl Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdDsaVerifier(VerifyingKey);

impl Verifier<Vec<u8>> for EdDsaVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        self.0.verify(message, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_eddsa_keys_sign_and_verify() {
        install();
        let hmac = EncodingKey::from_secret(b"a shared secret");
        assert!(signer(&Algorithm::HS256, &hmac).is_err());
        assert!(signer(&Algorithm::EdDSA, &hmac).is_err());
        let short = DecodingKey::from_ed_der(&[7; 31]);
        assert!(verifier(&Algorithm::EdDSA, &short).is_err());
        assert!(verifier(&Algorithm::RS256, &DecodingKey::from_secret(b"x")).is_err());
    }
}
