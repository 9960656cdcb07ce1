//! Access-token verification: what a verified token is remembered for, and what it is
//! not (a remembered token does not outlive its expiry; a forged one is never taken).

use std::time::Duration;

use agora_kit::auth::{Claims, JwtVerifier, TokenRules};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use uuid::Uuid;

const KID: &str = "test-key";

/// A signing key and its public half as a JWK named [`KID`].
fn key_pair() -> (EncodingKey, Jwk) {
    let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(document.as_ref()).expect("key");
    let jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(KID.to_owned()),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        }),
    };
    (EncodingKey::from_ed_der(document.as_ref()), jwk)
}

fn rules() -> TokenRules {
    TokenRules {
        issuer: "agora-identity".to_owned(),
        audience: "agora".to_owned(),
    }
}

/// A token for `user` signed with `key`, expiring `expires_in` seconds from now.
fn token(key: &EncodingKey, user: Uuid, expires_in: i64) -> String {
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user,
        sid: Uuid::now_v7(),
        iss: rules().issuer,
        aud: rules().audience,
        iat: now,
        exp: now + expires_in,
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    jsonwebtoken::encode(&header, &claims, key).expect("signed")
}

#[tokio::test]
async fn a_verified_token_is_taken_again_until_it_expires_and_a_forged_one_never() {
    let (signing, public) = key_pair();
    let (forger, _) = key_pair();
    let verifier = JwtVerifier::local(JwkSet { keys: vec![public] }, rules());
    let user = Uuid::now_v7();

    let good = token(&signing, user, 900);
    for _ in 0..2 {
        assert_eq!(verifier.verify(&good).await.expect("valid").user_id, user);
    }
    let forged = token(&forger, user, 900);
    for _ in 0..2 {
        assert!(
            verifier.verify(&forged).await.is_err(),
            "forged token taken"
        );
    }

    // Expired a second ago: still within the verifier's 5 s of leeway, so taken (and
    // remembered); once the leeway has passed too, refused, remembered or not.
    let expiring = token(&signing, user, -1);
    assert!(verifier.verify(&expiring).await.is_ok());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        verifier.verify(&expiring).await.is_err(),
        "an expired token was taken from memory"
    );
}
