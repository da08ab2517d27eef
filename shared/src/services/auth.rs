//! Passwords: bcrypt, off the async executor.

use anyhow::Context as _;
use tokio::sync::OnceCell;

use crate::domain::Password;

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

#[cfg(test)]
mod tests {
    use super::*;

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
