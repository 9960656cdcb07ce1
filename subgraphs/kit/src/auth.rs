//! Who is asking: access-token verification against identity's JWKS.
//!
//! Identity signs short-lived EdDSA access tokens; every subgraph verifies them itself
//! (never trusting a bare user-id header) and puts the resulting [`Viewer`] in the GraphQL
//! context. The key set is fetched once and fetched again when a token names an unknown
//! `kid`, so key rotation needs no restart. A token whose signature checked out is
//! remembered until it expires, so the several subgraph requests that one client request
//! makes (and the client's next requests) verify its signature once.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::Context;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::error::ServiceError;

/// Access tokens live this long; refresh tokens renew them.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// What every access token must say about who issued it and for whom.
#[derive(Clone, Debug)]
pub struct TokenRules {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
}

/// The claims of an Agora access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: Uuid,
    /// The session id, so a session can be revoked as a whole.
    pub sid: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
}

/// The authenticated caller of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The account id (`sub`).
    pub user_id: Uuid,
    /// The session the token belongs to (`sid`).
    pub session_id: Uuid,
}

/// Where the verifier gets its keys.
enum KeySource {
    /// Identity's keys in process: identity verifies its own tokens without a round trip.
    Local(JwkSet),
    /// Identity's JWKS endpoint, cached.
    Remote {
        url: String,
        client: reqwest::Client,
        cache: RwLock<Option<(JwkSet, Instant)>>,
    },
}

/// Verifies access tokens; cheap to clone behind an `Arc`.
pub struct JwtVerifier {
    keys: KeySource,
    rules: TokenRules,
    /// Tokens verified lately: token → (viewer, expiry in seconds since the epoch). An
    /// Ed25519 check costs about 50 µs, and a home feed request reaches five subgraphs.
    verified: Mutex<LruCache<String, (Viewer, i64)>>,
}

/// How many verified tokens are remembered (the most recently used ones).
const VERIFIED_TOKENS: NonZeroUsize = NonZeroUsize::new(10_000).expect("not zero");

/// Refetching the key set for an unknown `kid` happens at most this often.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

impl JwtVerifier {
    /// A verifier that fetches keys from identity's JWKS URL.
    pub fn remote(url: impl Into<String>, rules: TokenRules) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Arc::new(Self {
            keys: KeySource::Remote {
                url: url.into(),
                client,
                cache: RwLock::new(None),
            },
            rules,
            verified: Mutex::new(LruCache::new(VERIFIED_TOKENS)),
        })
    }

    /// A verifier over a fixed key set.
    pub fn local(keys: JwkSet, rules: TokenRules) -> Arc<Self> {
        Arc::new(Self {
            keys: KeySource::Local(keys),
            rules,
            verified: Mutex::new(LruCache::new(VERIFIED_TOKENS)),
        })
    }

    /// Verifies a compact JWT and returns its viewer; any failure is `UNAUTHENTICATED`.
    pub async fn verify(&self, token: &str) -> Result<Viewer, ServiceError> {
        if let Some(viewer) = self.remembered(token) {
            return Ok(viewer);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.rules.issuer]);
        validation.set_audience(&[&self.rules.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            invalid()
        })?;
        let viewer = Viewer {
            user_id: data.claims.sub,
            session_id: data.claims.sid,
        };
        if let Ok(mut verified) = self.verified.lock() {
            verified.put(token.to_owned(), (viewer, data.claims.exp));
        }
        Ok(viewer)
    }

    /// The viewer of `token` if it was verified before and has not expired since.
    fn remembered(&self, token: &str) -> Option<Viewer> {
        let mut verified = self.verified.lock().ok()?;
        let &(viewer, expires) = verified.get(token)?;
        if chrono::Utc::now().timestamp() < expires {
            return Some(viewer);
        }
        verified.pop(token);
        None
    }

    /// Whether tokens can be verified: the keys are in process, or identity's key set has
    /// been fetched (now, if it never was). Keys once fetched keep a service ready while
    /// identity restarts, so one restart does not take every service out of rotation.
    pub async fn ready(&self) -> bool {
        match &self.keys {
            KeySource::Local(_) => true,
            KeySource::Remote { url, client, cache } => {
                if cache.read().await.is_some() {
                    return true;
                }
                match fetch_jwks(client, url).await {
                    Ok(set) => {
                        *cache.write().await = Some((set, Instant::now()));
                        true
                    }
                    Err(_) => false,
                }
            }
        }
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, ServiceError> {
        let decoding = |set: &JwkSet| {
            set.find(kid)
                .and_then(|jwk| DecodingKey::from_jwk(jwk).ok())
        };
        match &self.keys {
            KeySource::Local(set) => decoding(set).ok_or_else(invalid),
            KeySource::Remote { url, client, cache } => {
                let fresh_enough = {
                    let cached = cache.read().await;
                    if let Some(key) = cached.as_ref().and_then(|(set, _)| decoding(set)) {
                        return Ok(key);
                    }
                    cached
                        .as_ref()
                        .is_some_and(|(_, at)| at.elapsed() < REFETCH_INTERVAL)
                };
                if fresh_enough {
                    return Err(invalid());
                }
                let set = fetch_jwks(client, url).await?;
                let key = decoding(&set);
                *cache.write().await = Some((set, Instant::now()));
                key.ok_or_else(invalid)
            }
        }
    }
}

async fn fetch_jwks(client: &reqwest::Client, url: &str) -> Result<JwkSet, ServiceError> {
    let response = client
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status());
    let set = match response {
        Ok(response) => response.json::<JwkSet>().await,
        Err(e) => Err(e),
    };
    set.map_err(|e| ServiceError::internal(&e))
}

fn invalid() -> ServiceError {
    ServiceError::new(
        crate::Code::Unauthenticated,
        "invalid or expired access token",
    )
}

/// The bearer token of an `Authorization` header value, if it is one.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The viewer of this request, or `UNAUTHENTICATED`.
pub fn viewer(ctx: &Context<'_>) -> Result<Viewer, ServiceError> {
    optional_viewer(ctx).ok_or_else(ServiceError::unauthenticated)
}

/// The viewer of this request, if it carried a valid token.
pub fn optional_viewer(ctx: &Context<'_>) -> Option<Viewer> {
    ctx.data_opt::<Viewer>().copied()
}
