//! JWT validation in the router: bearer tokens are checked against a JWKS served by a
//! test endpoint, with keys made here (Ed25519 and P-256 with `ring`, RSA from a test
//! fixture). A refused token never reaches a subgraph; an accepted one reaches them
//! unchanged.

mod helpers;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agora_router::{JwtConfig, RateLimit};
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helpers::{Options, TestGraph, spawn_configured};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const ISSUER: &str = "agora-test";
const AUDIENCE: &str = "agora-router-test";
const QUERY: &str = "{ authorization me { displayName } }";

/// A signing key and the public JWK that verifies it.
struct Signer {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

impl Signer {
    fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::EdDSA,
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            }),
        }
    }

    fn es256(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // An uncompressed point: 0x04, then x and y.
        let point = pair.public_key().as_ref();
        Self {
            kid: kid.to_owned(),
            algorithm: Algorithm::ES256,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            // No `alg`: the router infers ES256 from the curve.
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    /// The RSA test key of `tests/fixtures` (ring cannot generate RSA keys).
    fn rs256() -> Self {
        let jwk: Value =
            serde_json::from_str(include_str!("fixtures/rsa-test-key.jwk.json")).unwrap();
        Self {
            kid: jwk["kid"].as_str().unwrap().to_owned(),
            algorithm: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa-test-key.pem")).unwrap(),
            jwk,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    fn bearer(&self, claims: &Value) -> String {
        format!("Bearer {}", self.sign(claims))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims the router accepts.
fn claims() -> Value {
    json!({ "sub": "u1", "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 600 })
}

fn claims_with(key: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[key] = value;
    claims
}

fn claims_without(key: &str) -> Value {
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// A JWKS endpoint whose keys a test can change, counting how often it is fetched.
#[derive(Default)]
struct Jwks {
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
}

impl Jwks {
    fn publish(&self, signers: &[&Signer]) {
        *self.keys.lock().unwrap() = signers.iter().map(|signer| signer.jwk.clone()).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn serve_jwks(State(jwks): State<Arc<Jwks>>) -> axum::Json<Value> {
    jwks.fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({ "keys": *jwks.keys.lock().unwrap() }))
}

/// Serves `jwks` on port 0 and returns its URL.
async fn spawn_jwks(jwks: Arc<Jwks>) -> String {
    let app = axum::Router::new()
        .route("/.well-known/jwks.json", get(serve_jwks))
        .with_state(jwks);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/.well-known/jwks.json")
}

/// The test graph with JWT validation against `jwks`.
async fn spawn_with_jwks(jwks: &Arc<Jwks>, min_refetch_interval: Duration) -> TestGraph {
    let url = spawn_jwks(Arc::clone(jwks)).await;
    spawn_configured(Options::default(), |config| {
        config.auth = Some(JwtConfig {
            min_refetch_interval,
            ..JwtConfig::new(url, ISSUER, AUDIENCE)
        });
    })
    .await
}

/// Asserts that `authorization` is refused with 401 `UNAUTHENTICATED` and that no
/// subgraph saw the request.
async fn assert_refused(graph: &TestGraph, authorization: &str) {
    let response = graph
        .post(json!({ "query": QUERY }), Some(authorization))
        .await;
    assert_eq!(response.status, 401, "{}", response.body);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["UNAUTHENTICATED"],
        "{}",
        response.body
    );
    assert!(response.body.get("data").is_none(), "{}", response.body);
    assert_eq!(
        graph.subgraph_requests(),
        0,
        "a refused token was forwarded"
    );
}

#[tokio::test]
async fn a_valid_eddsa_token_is_forwarded_unchanged_to_every_subgraph() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    jwks.publish(&[&signer]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;
    let authorization = signer.bearer(&claims());

    let response = graph
        .post(json!({ "query": QUERY }), Some(&authorization))
        .await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.body["data"]["authorization"],
        authorization.as_str()
    );
    assert_eq!(
        response.body["data"]["me"],
        json!({ "displayName": "Ada Lovelace" })
    );
    let seen = [
        graph.identity.authorizations(),
        graph.profiles.authorizations(),
    ]
    .concat();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|header| header.as_deref() == Some(authorization.as_str()))
    );
}

#[tokio::test]
async fn es256_and_rs256_tokens_are_accepted_by_their_keys() {
    let jwks = Arc::new(Jwks::default());
    let ec = Signer::es256("ec-1");
    let rsa = Signer::rs256();
    jwks.publish(&[&ec, &rsa]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    for signer in [&ec, &rsa] {
        let response = graph
            .post(
                json!({ "query": "{ motd }" }),
                Some(&signer.bearer(&claims())),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.body["data"]["motd"], "Welcome to Agora");
    }
    assert_eq!(jwks.fetches(), 1, "the key set is cached");
}

#[tokio::test]
async fn a_request_without_authorization_passes_without_fetching_keys() {
    let jwks = Arc::new(Jwks::default());
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    let body = graph.query("{ motd }").await;

    assert_eq!(body, json!({ "data": { "motd": "Welcome to Agora" } }));
    assert_eq!(jwks.fetches(), 0);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    jwks.publish(&[&signer]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    // Past the 10 s leeway.
    let expired = claims_with("exp", json!(now() - 60));
    assert_refused(&graph, &signer.bearer(&expired)).await;
}

#[tokio::test]
async fn tokens_for_another_issuer_or_audience_are_refused() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    jwks.publish(&[&signer]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    assert_refused(&graph, &signer.bearer(&claims_with("iss", json!("evil")))).await;
    assert_refused(
        &graph,
        &signer.bearer(&claims_with("aud", json!("other-app"))),
    )
    .await;
}

#[tokio::test]
async fn tokens_without_exp_iss_or_aud_are_refused() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    jwks.publish(&[&signer]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    for claim in ["exp", "iss", "aud"] {
        assert_refused(&graph, &signer.bearer(&claims_without(claim))).await;
    }
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_known_kid_is_refused() {
    let jwks = Arc::new(Jwks::default());
    let published = Signer::ed25519("ed-1");
    jwks.publish(&[&published]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;
    let forger = Signer::ed25519("ed-1");

    assert_refused(&graph, &forger.bearer(&claims())).await;
}

#[tokio::test]
async fn algorithms_are_pinned_to_the_key() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    let rsa = Signer::rs256();
    jwks.publish(&[&signer, &rsa]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    // HS256 "signed" with the public key as the shared secret: the classic confusion.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(rsa.kid.clone());
    let public_key = rsa.jwk["n"].as_str().unwrap().as_bytes();
    let confused =
        jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(public_key)).unwrap();
    assert_refused(&graph, &format!("Bearer {confused}")).await;

    // `alg: none`, no signature.
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"ed-1"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    assert_refused(&graph, &format!("Bearer {unsigned}")).await;

    // A valid RS256 signature presented under the Ed25519 key's kid.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ed-1".to_owned());
    let crossed = jsonwebtoken::encode(&header, &claims(), &rsa.key).unwrap();
    assert_refused(&graph, &format!("Bearer {crossed}")).await;
}

#[tokio::test]
async fn authorization_headers_that_are_not_bearer_tokens_are_refused() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    jwks.publish(&[&signer]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(10)).await;

    assert_refused(&graph, "Basic YWRhOmxvdmVsYWNl").await;
    assert_refused(&graph, "Bearer ").await;
    assert_refused(&graph, "Bearer not.a.jwt").await;
    assert_refused(&graph, &signer.sign(&claims())).await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_its_kid_first_appears() {
    let jwks = Arc::new(Jwks::default());
    let old = Signer::ed25519("ed-1");
    jwks.publish(&[&old]);
    let graph = spawn_with_jwks(&jwks, Duration::ZERO).await;
    let response = graph
        .post(json!({ "query": "{ motd }" }), Some(&old.bearer(&claims())))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(jwks.fetches(), 1);

    let new = Signer::ed25519("ed-2");
    jwks.publish(&[&old, &new]);
    let response = graph
        .post(json!({ "query": "{ motd }" }), Some(&new.bearer(&claims())))
        .await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(jwks.fetches(), 2);
    let response = graph
        .post(json!({ "query": "{ motd }" }), Some(&old.bearer(&claims())))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(jwks.fetches(), 2, "known kids need no fetch");
}

#[tokio::test]
async fn unknown_kids_do_not_refetch_the_keys_more_than_once_per_interval() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("ed-1");
    jwks.publish(&[&signer]);
    let graph = spawn_with_jwks(&jwks, Duration::from_secs(60)).await;

    for kid in ["forged-1", "forged-2", "forged-3"] {
        assert_refused(&graph, &Signer::ed25519(kid).bearer(&claims())).await;
    }
    assert_eq!(jwks.fetches(), 1);

    let response = graph
        .post(
            json!({ "query": "{ motd }" }),
            Some(&signer.bearer(&claims())),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn an_unreachable_jwks_refuses_tokens_instead_of_forwarding_them() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let graph = spawn_configured(Options::default(), |config| {
        config.auth = Some(JwtConfig::new(
            format!("http://{address}/.well-known/jwks.json"),
            ISSUER,
            AUDIENCE,
        ));
    })
    .await;

    assert_refused(&graph, &Signer::ed25519("ed-1").bearer(&claims())).await;
}

#[tokio::test]
async fn a_withdrawn_key_stops_being_accepted_once_the_keys_are_refreshed() {
    let jwks = Arc::new(Jwks::default());
    let old = Signer::ed25519("ed-1");
    jwks.publish(&[&old]);
    let url = spawn_jwks(Arc::clone(&jwks)).await;
    let graph = spawn_configured(Options::default(), |config| {
        config.auth = Some(JwtConfig {
            max_key_age: Duration::ZERO,
            min_refetch_interval: Duration::ZERO,
            ..JwtConfig::new(url, ISSUER, AUDIENCE)
        });
    })
    .await;
    let response = graph
        .post(json!({ "query": "{ motd }" }), Some(&old.bearer(&claims())))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let graph_requests_before = graph.subgraph_requests();

    let new = Signer::ed25519("ed-2");
    jwks.publish(&[&new]);
    let response = graph
        .post(json!({ "query": "{ motd }" }), Some(&old.bearer(&claims())))
        .await;

    assert_eq!(response.status, 401, "{}", response.body);
    assert_eq!(graph.subgraph_requests(), graph_requests_before);
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test]
async fn rate_limits_count_per_verified_user_not_per_address() {
    let jwks = Arc::new(Jwks::default());
    let signer = Signer::ed25519("k1");
    jwks.publish(&[&signer]);
    let url = spawn_jwks(Arc::clone(&jwks)).await;
    let graph = spawn_configured(Options::default(), |config| {
        config.auth = Some(JwtConfig::new(url, ISSUER, AUDIENCE));
        config.rate_limit = Some(RateLimit {
            requests_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::MIN,
        });
    })
    .await;
    let u1 = signer.bearer(&claims());
    let u2 = signer.bearer(&claims_with("sub", json!("u2")));

    let first = graph.post(json!({ "query": QUERY }), Some(&u1)).await;
    let again = graph.post(json!({ "query": QUERY }), Some(&u1)).await;
    let other_user = graph.post(json!({ "query": QUERY }), Some(&u2)).await;
    let anonymous = graph.post(json!({ "query": QUERY }), None).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(again.status, 429, "{}", again.body);
    assert_eq!(TestGraph::error_codes(&again.body), ["RATE_LIMITED"]);
    assert_eq!(other_user.status, 200, "{}", other_user.body);
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
}
