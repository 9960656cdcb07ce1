//! Upload tokens: the media id and an expiry, signed with HMAC-SHA-256, so that a URL
//! cannot be forged or extended. That a token is used once is the media row's business
//! (its status), not the token's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ring::hmac;
use uuid::Uuid;

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token we signed.
    Invalid,
    /// Ours, but past its expiry.
    Expired,
}

/// Signs and checks upload tokens with the shared secret.
pub struct Signer {
    key: hmac::Key,
}

impl Signer {
    /// A signer with `secret` (from [`crate::store::key::secret`]).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The token for uploading `media` until `expires`.
    pub fn sign(&self, media: Uuid, expires: DateTime<Utc>) -> String {
        let claims = claims(media, expires);
        let tag = hmac::sign(&self.key, &claims);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The media a token lets one upload, if it is ours and not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, TokenError> {
        let (claims, tag) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let claims = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|_| TokenError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TokenError::Invalid)?;
        hmac::verify(&self.key, &claims, &tag).map_err(|_| TokenError::Invalid)?;
        let (id, expires) = claims.split_at_checked(16).ok_or(TokenError::Invalid)?;
        let id = Uuid::from_slice(id).map_err(|_| TokenError::Invalid)?;
        let expires = i64::from_be_bytes(expires.try_into().map_err(|_| TokenError::Invalid)?);
        if now.timestamp() >= expires {
            return Err(TokenError::Expired);
        }
        Ok(id)
    }
}

/// The signed bytes: the media id, then the expiry in seconds (big-endian).
fn claims(media: Uuid, expires: DateTime<Utc>) -> Vec<u8> {
    let mut claims = media.as_bytes().to_vec();
    claims.extend_from_slice(&expires.timestamp().to_be_bytes());
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_token_names_its_media_until_it_expires_and_cannot_be_forged() {
        let signer = Signer::new(b"secret");
        let media = Uuid::now_v7();
        let now = Utc::now();
        let token = signer.sign(media, now + Duration::minutes(15));
        assert_eq!(signer.verify(&token, now), Ok(media));
        assert_eq!(
            signer.verify(&token, now + Duration::minutes(16)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            Signer::new(b"other").verify(&token, now),
            Err(TokenError::Invalid)
        );
        let other = signer.sign(Uuid::now_v7(), now + Duration::minutes(15));
        let forged = format!(
            "{}.{}",
            token.split('.').next().unwrap_or_default(),
            other.split('.').nth(1).unwrap_or_default()
        );
        assert_eq!(signer.verify(&forged, now), Err(TokenError::Invalid));
        assert_eq!(signer.verify("nonsense", now), Err(TokenError::Invalid));
    }
}
