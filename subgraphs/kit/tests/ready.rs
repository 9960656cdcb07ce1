//! `/ready` answers 200 only while the database, the event bus and the token keys can be
//! reached, and names what cannot.

use std::path::Path;
use std::sync::Arc;

use agora_kit::auth::{JwtVerifier, TokenRules};
use agora_kit::events::{self, BusConfig};
use agora_kit::http;
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use jsonwebtoken::jwk::JwkSet;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

struct Query;

#[Object]
impl Query {
    /// Always true.
    async fn up(&self) -> bool {
        true
    }
}

/// Serves a subgraph with `verifier` over `db` and an embedded bus in `dir`; its `/ready`
/// URL.
async fn serve(verifier: Arc<JwtVerifier>, db: DatabaseConnection, dir: &Path) -> String {
    let config = BusConfig {
        embedded_db_url: format!("sqlite://{}?mode=rwc", dir.join("events.sqlite").display()),
        ..BusConfig::default()
    };
    let bus = events::connect(&config).await.unwrap();
    let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
    let routes = http::router(schema, verifier, db, bus);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await });
    format!("http://{addr}/ready")
}

async fn ready(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn ready_is_200_only_while_database_bus_and_keys_are_reachable_and_names_what_is_not() {
    let rules = TokenRules {
        issuer: "agora".into(),
        audience: "agora".into(),
    };
    let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    let nothing_listens = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let jwks = format!("http://{nothing_listens}/.well-known/jwks.json");
    let without_keys = serve(
        JwtVerifier::remote(jwks, rules.clone()),
        db.clone(),
        dir.path(),
    )
    .await;
    assert_eq!(
        ready(&without_keys).await,
        (
            503,
            json!({ "database": true, "events": true, "keys": false })
        )
    );

    let with_keys = serve(
        JwtVerifier::local(JwkSet { keys: vec![] }, rules),
        db.clone(),
        dir.path(),
    )
    .await;
    assert_eq!(
        ready(&with_keys).await,
        (
            200,
            json!({ "database": true, "events": true, "keys": true })
        )
    );

    db.close().await.unwrap();
    assert_eq!(
        ready(&with_keys).await,
        (
            503,
            json!({ "database": false, "events": true, "keys": true })
        )
    );
}
