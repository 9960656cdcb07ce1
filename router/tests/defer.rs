//! `@defer` end to end: a client that accepts `multipart/mixed` gets the operation
//! without its deferred fragments first (`hasNext: true`), then the fragments' fields
//! at their paths (`hasNext: false`); any other client gets one plain response.

mod helpers;

use helpers::{TestGraph, spawn};
use serde_json::{Value, json};

/// POSTs `query` accepting incremental delivery; returns the content type and the
/// body.
async fn post_accepting_multipart(graph: &TestGraph, query: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", graph.router_url))
        .header(
            "accept",
            "multipart/mixed;deferSpec=20220824, application/json",
        )
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

/// POSTs `query` accepting incremental delivery; returns the content type and the JSON
/// payloads of the multipart body, in order.
async fn post_multipart(graph: &TestGraph, query: &str) -> (String, Vec<Value>) {
    let (content_type, body) = post_accepting_multipart(graph, query).await;
    assert!(body.ends_with("\r\n--graphql--\r\n"), "{body:?}");
    let payloads = body
        .split("\r\n--graphql")
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .map(|(_, json)| serde_json::from_str(json).unwrap())
        .collect();
    (content_type, payloads)
}

#[tokio::test]
async fn a_deferred_fragment_arrives_after_the_rest_of_the_response() {
    let graph = spawn().await;

    let (content_type, payloads) = post_multipart(
        &graph,
        r#"{ me { handle ... @defer(label: "profile") { displayName since } } }"#,
    )
    .await;

    assert_eq!(
        content_type,
        r#"multipart/mixed;boundary="graphql";deferSpec=20220824"#
    );
    assert_eq!(
        payloads,
        [
            json!({ "data": { "me": { "handle": "ada" } }, "hasNext": true }),
            json!({
                "incremental": [{
                    "data": { "displayName": "Ada Lovelace", "since": "2024" },
                    "path": ["me"],
                    "label": "profile",
                }],
                "hasNext": false,
            }),
        ]
    );
}

#[tokio::test]
async fn a_fragment_deferred_in_a_list_arrives_once_per_item() {
    let graph = spawn().await;

    let (_, payloads) = post_multipart(
        &graph,
        "{ posts { title ...Author @defer } } fragment Author on Post { author { handle } }",
    )
    .await;

    assert_eq!(payloads.len(), 2, "{payloads:?}");
    assert_eq!(payloads[0]["hasNext"], true);
    assert_eq!(
        payloads[0]["data"]["posts"][0],
        json!({ "title": "Notes on the Analytical Engine" })
    );
    let incremental = payloads[1]["incremental"].as_array().unwrap();
    assert_eq!(incremental.len(), 3, "{incremental:?}");
    assert_eq!(
        incremental[1],
        json!({ "data": { "author": { "handle": "grace" } }, "path": ["posts", 1] })
    );
}

#[tokio::test]
async fn without_multipart_or_with_if_false_the_response_is_one_plain_body() {
    let graph = spawn().await;

    let plain = graph.query("{ me { handle ... @defer { since } } }").await;
    assert_eq!(
        plain,
        json!({ "data": { "me": { "handle": "ada", "since": "2024" } } })
    );

    let (content_type, body) =
        post_accepting_multipart(&graph, "{ me { handle ... @defer(if: false) { since } } }").await;
    assert_eq!(content_type, "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "data": { "me": { "handle": "ada", "since": "2024" } } })
    );
}
