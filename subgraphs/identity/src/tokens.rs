//! Token material: the Ed25519 signing keys and the JWKS, access tokens, and the opaque
//! random tokens of refresh, password reset and email verification.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use agora_kit::auth::{ACCESS_TOKEN_TTL, Claims, TokenRules};

use crate::error::IdentityError;
use crate::store::signing_key;

/// The key that signs new tokens, and the public set that verifies them.
pub struct Keys {
    kid: String,
    signing: EncodingKey,
    jwks: JwkSet,
    rules: TokenRules,
}

impl Keys {
    /// Loads the signing keys, making the first one when there is none.
    pub async fn load_or_create(
        db: &DatabaseConnection,
        rules: TokenRules,
    ) -> Result<Self, IdentityError> {
        let mut keys = signing_key::all(db).await?;
        if keys.is_empty() {
            signing_key::insert(db, generate()?).await?;
            keys = signing_key::all(db).await?;
        }
        let newest = keys
            .first()
            .ok_or(IdentityError::Crypto("no signing key"))?;
        let der = STANDARD
            .decode(&newest.private_key)
            .map_err(|_| IdentityError::Crypto("stored signing key is malformed"))?;
        Ok(Self {
            kid: newest.kid.clone(),
            signing: EncodingKey::from_ed_der(&der),
            jwks: JwkSet {
                keys: keys.iter().map(jwk).collect(),
            },
            rules,
        })
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// The rules that this identity's tokens follow.
    pub fn rules(&self) -> &TokenRules {
        &self.rules
    }

    /// Signs a 15-minute access token for a session.
    pub fn access_token(
        &self,
        account_id: Uuid,
        session_id: Uuid,
    ) -> Result<String, IdentityError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: account_id,
            sid: session_id,
            iss: self.rules.issuer.clone(),
            aud: self.rules.audience.clone(),
            iat: now,
            exp: now + ACCESS_TOKEN_TTL.as_secs() as i64,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.signing)
            .map_err(|_| IdentityError::Crypto("token signing"))
    }
}

/// A new random opaque token (refresh, reset or verification) and the hash under which
/// it is stored.
pub fn random_token() -> Result<(String, String), IdentityError> {
    let mut bytes = [0_u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| IdentityError::Crypto("no randomness for a token"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The stored form of an opaque token: SHA-256, hex. The token has 256 random bits, so a
/// fast hash is enough (no dictionary to attack).
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn generate() -> Result<signing_key::Model, IdentityError> {
    let rng = SystemRandom::new();
    let document = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| IdentityError::Crypto("key generation"))?;
    let pair = Ed25519KeyPair::from_pkcs8(document.as_ref())
        .map_err(|_| IdentityError::Crypto("key generation"))?;
    Ok(signing_key::Model {
        kid: Uuid::now_v7().to_string(),
        private_key: STANDARD.encode(document.as_ref()),
        public_key: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        created_at: Utc::now(),
    })
}

fn jwk(key: &signing_key::Model) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(key.kid.clone()),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: key.public_key.clone(),
        }),
    }
}
