//! Bearer-token validation against a JSON Web Key Set, before anything reaches a
//! subgraph.
//!
//! A request without `Authorization` passes (subgraphs decide what anonymous callers
//! may see). A request with one must carry a bearer JWT that is signed by a key of the
//! set, with the algorithm that key is pinned to (its `alg`, or the one its type implies:
//! Ed25519 → EdDSA, P-256 → ES256, RSA → RS256), and whose `exp`, `iss` and `aud` are
//! present and right. Anything else is refused with `UNAUTHENTICATED`; a valid token is
//! forwarded unchanged, because subgraphs verify it again.
//!
//! The key set is fetched on first use, cached, refreshed when it is older than
//! `max_key_age`, and fetched again when a token names an unknown `kid`, at most once per
//! `min_refetch_interval`. Only one fetch runs at a time; a failed fetch keeps the keys
//! already known.
//!
//! Each key set remembers the tokens it verified until they expire (an Ed25519 check is
//! about 50 µs, and a client sends the same token with every request); a new key set
//! starts with none, so a token of a withdrawn key is refused once the keys are fetched.

use std::num::NonZeroUsize;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lru::LruCache;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::JwtConfig;
use crate::error::{ErrorCode, RouterError};
use crate::response::Rejection;

/// How long one JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// How many verified tokens a key set remembers (the most recently used ones).
const VERIFIED_TOKENS: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

/// Verifies the bearer tokens of client requests.
pub(crate) struct Authenticator {
    config: JwtConfig,
    http: reqwest::Client,
    /// The keys in use; replaced as a whole when a fetch succeeds.
    keys: RwLock<Arc<KeySet>>,
    /// When the key set was last asked for; the lock makes fetches single-flight.
    last_fetch: Mutex<Option<Instant>>,
}

/// The usable keys of one fetched JWKS, and the tokens they verified.
struct KeySet {
    keys: Vec<VerificationKey>,
    fetched_at: Option<Instant>,
    /// Token → its subject and expiry (seconds since the epoch).
    verified: std::sync::Mutex<LruCache<String, (Option<String>, u64)>>,
}

impl Default for KeySet {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            fetched_at: None,
            verified: std::sync::Mutex::new(LruCache::new(VERIFIED_TOKENS)),
        }
    }
}

/// The claims the router reads; subgraphs read the rest.
#[derive(Deserialize)]
struct Subject {
    sub: Option<String>,
    exp: u64,
}

/// One public key and the only algorithm it may verify.
struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl KeySet {
    /// The keys a token with this `kid` and `alg` may be checked against: the key with
    /// that `kid`, or every key when the token names none.
    fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        algorithm: Algorithm,
    ) -> impl Iterator<Item = &'a VerificationKey> + 'a {
        self.keys.iter().filter(move |key| {
            key.algorithm == algorithm && (kid.is_none() || key.kid.as_deref() == kid)
        })
    }

    fn knows(&self, kid: Option<&str>, algorithm: Algorithm) -> bool {
        self.candidates(kid, algorithm).next().is_some()
    }

    fn is_older_than(&self, age: Duration) -> bool {
        self.fetched_at.is_none_or(|at| at.elapsed() >= age)
    }

    /// The subject of `token` if these keys verified it and it has not expired since.
    fn remembered(&self, token: &str) -> Option<Option<String>> {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        let (subject, expires) = verified.get(token)?.clone();
        if jsonwebtoken::get_current_timestamp() < expires {
            return Some(subject);
        }
        verified.pop(token);
        None
    }

    fn remember(&self, token: &str, claims: &Subject) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.put(token.to_owned(), (claims.sub.clone(), claims.exp));
    }
}

impl Authenticator {
    pub fn new(config: JwtConfig) -> Result<Self, RouterError> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(RouterError::HttpClient)?;
        Ok(Self {
            config,
            http,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_fetch: Mutex::new(None),
        })
    }

    /// Passes requests without `Authorization` and requests with a valid bearer token,
    /// whose subject (`sub`) it returns; refuses everything else.
    pub async fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<String>, Rejection> {
        let Some(authorization) = authorization else {
            return Ok(None);
        };
        let token = authorization
            .to_str()
            .ok()
            .and_then(bearer)
            .ok_or_else(|| refused("The Authorization header is not a bearer token"))?;
        let current = self.current();
        if !current.is_older_than(self.config.max_key_age)
            && let Some(subject) = current.remembered(token)
        {
            return Ok(subject);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token())?;
        if !matches!(
            header.alg,
            Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256
        ) {
            return Err(invalid_token());
        }
        let keys = self.keys_for(header.kid.as_deref(), header.alg).await;
        let validation = self.validation(header.alg);
        let mut last_error = None;
        for key in keys.candidates(header.kid.as_deref(), header.alg) {
            match jsonwebtoken::decode::<Subject>(token, &key.key, &validation) {
                Ok(data) => {
                    keys.remember(token, &data.claims);
                    return Ok(data.claims.sub);
                }
                Err(error) => last_error = Some(error),
            }
        }
        match last_error {
            Some(error) => tracing::debug!(%error, "bearer token refused"),
            None => tracing::debug!(kid = ?header.kid, "bearer token names no known key"),
        }
        Err(invalid_token())
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway.as_secs();
        validation
    }

    fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key set to check a token against, fetched first when the token's key is
    /// unknown or the keys are old, unless a fetch happened too recently.
    async fn keys_for(&self, kid: Option<&str>, algorithm: Algorithm) -> Arc<KeySet> {
        let current = self.current();
        let known = current.knows(kid, algorithm);
        if known && !current.is_older_than(self.config.max_key_age) {
            return current;
        }
        let mut last_fetch = if known {
            // Old keys that know this token: refresh unless another request already
            // is, and never wait for it.
            match self.last_fetch.try_lock() {
                Ok(guard) => guard,
                Err(_) => return current,
            }
        } else {
            self.last_fetch.lock().await
        };
        // Another request may have fetched while this one waited.
        let current = self.current();
        if current.knows(kid, algorithm) && !current.is_older_than(self.config.max_key_age) {
            return current;
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.config.min_refetch_interval) {
            return current;
        }
        *last_fetch = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&keys);
                keys
            }
            Err(error) => {
                tracing::warn!(url = %self.config.jwks_url, %error, "fetching the JWKS failed");
                current
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, reqwest::Error> {
        /// Keys are read one by one so that one key of an unknown type does not hide
        /// the others.
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        let set: RawSet = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let keys: Vec<VerificationKey> = set
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .filter_map(|jwk| verification_key(&jwk))
            .collect();
        tracing::debug!(keys = keys.len(), "JWKS fetched");
        Ok(KeySet {
            keys,
            fetched_at: Some(Instant::now()),
            ..KeySet::default()
        })
    }
}

/// A JWK as a verification key pinned to one algorithm, or `None` when the key is for
/// encryption, of a type the router does not accept, or its `alg` contradicts its type.
fn verification_key(jwk: &Jwk) -> Option<VerificationKey> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return None;
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(key) if key.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(key) if key.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        _ => return None,
    };
    let declared = match jwk.common.key_algorithm {
        None => implied,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(_) => return None,
    };
    if declared != implied {
        return None;
    }
    Some(VerificationKey {
        kid: jwk.common.key_id.clone(),
        algorithm: declared,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}

/// The token of a `Bearer <token>` header value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn refused(message: &str) -> Rejection {
    Rejection::new(message, ErrorCode::Unauthenticated)
}

fn invalid_token() -> Rejection {
    refused("The access token is invalid or expired")
}
