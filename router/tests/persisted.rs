//! Operations sent by reference, end to end: automatic persisted queries (Apollo's
//! protocol, over POST and GET) and a persisted-document manifest, optionally the only
//! operations allowed.

mod helpers;

use agora_router::{PersistedDocuments, PersistedManifest};
use helpers::{Options, TestGraph, spawn, spawn_configured};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const QUERY: &str = "{ motd }";
const MOTD: &str = "Welcome to Agora";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn persisted_query(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

fn manifest() -> PersistedManifest {
    let manifest = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{ "id": "motd-v1", "name": "Motd", "type": "query", "body": QUERY }],
    });
    PersistedManifest::from_json(&manifest.to_string()).expect("a valid manifest")
}

async fn spawn_with_manifest(only_allowed: bool) -> TestGraph {
    spawn_configured(Options::default(), |config| {
        config.persisted_documents = Some(PersistedDocuments {
            manifest: manifest(),
            only_allowed,
        });
    })
    .await
}

#[tokio::test]
async fn apq_asks_for_an_unknown_hash_then_runs_it_by_hash_alone() {
    let graph = spawn().await;
    let hash = sha256_hex(QUERY);

    let unknown = graph
        .post(json!({ "extensions": persisted_query(&hash) }), None)
        .await;
    assert_eq!(unknown.status, 200, "Apollo's clients expect 200 here");
    assert_eq!(
        TestGraph::error_codes(&unknown.body),
        ["PERSISTED_QUERY_NOT_FOUND"]
    );
    assert_eq!(
        unknown.body["errors"][0]["message"],
        "PersistedQueryNotFound"
    );
    assert_eq!(graph.subgraph_requests(), 0);

    let registered = graph
        .post(
            json!({ "query": QUERY, "extensions": persisted_query(&hash) }),
            None,
        )
        .await;
    assert_eq!(registered.body, json!({ "data": { "motd": MOTD } }));

    let by_hash = graph
        .post(json!({ "extensions": persisted_query(&hash) }), None)
        .await;
    assert_eq!(by_hash.body, json!({ "data": { "motd": MOTD } }));

    let extensions = persisted_query(&hash).to_string();
    let (status, body) = graph
        .get(&[("extensions", &extensions)], "application/json")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "data": { "motd": MOTD } })
    );
}

#[tokio::test]
async fn apq_refuses_a_hash_that_is_not_the_query_s() {
    let graph = spawn().await;

    let response = graph
        .post(
            json!({ "query": QUERY, "extensions": persisted_query(&sha256_hex("{ __typename }")) }),
            None,
        )
        .await;

    assert_eq!(response.status, 400);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["PERSISTED_QUERY_HASH_MISMATCH"]
    );
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn apq_can_be_turned_off() {
    let graph = spawn_configured(Options::default(), |config| config.apq = false).await;
    let hash = sha256_hex(QUERY);

    let response = graph
        .post(
            json!({ "query": QUERY, "extensions": persisted_query(&hash) }),
            None,
        )
        .await;

    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["PERSISTED_QUERY_NOT_IN_LIST"]
    );
}

#[tokio::test]
async fn manifest_operations_run_by_document_id_or_by_persisted_query_id() {
    let graph = spawn_with_manifest(false).await;

    let by_document_id = graph.post(json!({ "documentId": "motd-v1" }), None).await;
    assert_eq!(by_document_id.body, json!({ "data": { "motd": MOTD } }));

    let by_extension = graph
        .post(json!({ "extensions": persisted_query("motd-v1") }), None)
        .await;
    assert_eq!(by_extension.body, json!({ "data": { "motd": MOTD } }));

    let freeform = graph.query("{ __typename }").await;
    assert_eq!(freeform, json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn only_allowed_manifest_refuses_every_other_operation_before_the_subgraphs() {
    let graph = spawn_with_manifest(true).await;

    let listed = graph.post(json!({ "documentId": "motd-v1" }), None).await;
    assert_eq!(listed.body, json!({ "data": { "motd": MOTD } }));
    let listed_text = graph.query(QUERY).await;
    assert_eq!(listed_text, json!({ "data": { "motd": MOTD } }));
    let requests = graph.subgraph_requests();

    let other = "{ motd __typename }";
    for body in [
        json!({ "query": other }),
        json!({ "documentId": "motd-v2" }),
        json!({ "query": other, "extensions": persisted_query(&sha256_hex(other)) }),
    ] {
        let response = graph.post(body.clone(), None).await;
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        assert_eq!(
            TestGraph::error_codes(&response.body),
            ["PERSISTED_QUERY_NOT_IN_LIST"],
            "{body}"
        );
    }
    assert_eq!(graph.subgraph_requests(), requests);
}
