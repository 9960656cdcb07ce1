//! Password hashing with Argon2id at OWASP's parameters, off the async threads, at most
//! as many at once as there are cores: each hash holds 19 MiB, and unbounded, a burst of
//! logins grew the process by gigabytes (300 sign-ins, 32 at a time: 4.5 GB resident)
//! without finishing any sooner.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

use crate::error::IdentityError;

/// Shortest accepted password.
pub const MIN_LEN: usize = 8;
/// Longest accepted password (bounds hashing work per request).
pub const MAX_LEN: usize = 128;

/// OWASP's Argon2id recommendation: 19 MiB of memory, two passes, one lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashing slots: one per core.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from)));

/// Runs `work` on a blocking thread once a hashing slot is free.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, IdentityError> + Send + 'static,
) -> Result<T, IdentityError> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|_| IdentityError::Crypto("hashing slots closed"))?;
    tokio::task::spawn_blocking(work).await?
}

/// Hashes a password into a PHC string with a fresh random salt.
pub async fn hash(password: String) -> Result<String, IdentityError> {
    hashing(move || {
        let mut salt = [0_u8; 16];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| IdentityError::Crypto("no randomness for a salt"))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|_| IdentityError::Crypto("salt encoding"))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|_| IdentityError::Crypto("password hashing"))
    })
    .await
}

/// Checks a password against a PHC string. With no hash (unknown account) it still does
/// the same work against a dummy, so response times do not reveal which accounts exist.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, IdentityError> {
    hashing(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&hash)
            .map_err(|_| IdentityError::Crypto("stored hash is malformed"))?;
        let matches = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
}

/// A valid Argon2id hash (of a random password) with the same parameters as real ones.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$N7n3ZB8m0cDzCEKDYUd2kfAZW0pJ6KfNpi1N1pIqKHM";

/// Checks a new password's length.
pub fn validate(field: &'static str, password: &str) -> Result<(), agora_kit::ServiceError> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(agora_kit::ServiceError::bad_input(
            field,
            format!("password must be {MIN_LEN} to {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hash = hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse".into(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
