//! Each event of a subscription completed across subgraphs, over WebSocket and SSE.

use serde_json::json;

use crate::clients::{SseClient, WsClient};
use crate::graph::{Graph, Options};

const SUBSCRIPTION: &str = "subscription { notificationAdded { id actor { handle displayName } post { body likeCount } } }";

fn event(id: &str, handle: &str, name: &str, body: &str, likes: i32) -> serde_json::Value {
    json!({ "data": { "notificationAdded": {
        "id": id,
        "actor": { "handle": handle, "displayName": name },
        "post": { "body": body, "likeCount": likes },
    }}})
}

#[tokio::test]
async fn a_websocket_client_gets_each_event_completed_by_the_other_subgraphs() {
    let graph = Graph::start(Options::default()).await;
    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client.subscribe("s1", SUBSCRIPTION).await;
    graph
        .notifications
        .sockets
        .wait_for("the upstream subscription", |sockets| sockets.active == 1)
        .await;

    assert_eq!(graph.publish("n1", "u1", "p2").await, 1);
    assert_eq!(
        client.recv().await,
        json!({ "id": "s1", "type": "next", "payload": event("n1", "ada", "Ada Lovelace", "Compilers for everyone", 7) })
    );
    assert_eq!(graph.publish("n2", "u2", "p1").await, 1);
    assert_eq!(
        client.recv().await,
        json!({ "id": "s1", "type": "next", "payload": event("n2", "grace", "Grace Hopper", "Notes on the Analytical Engine", 12) })
    );
}

#[tokio::test]
async fn an_sse_client_gets_each_event_completed_then_complete_when_the_subgraph_completes() {
    let graph = Graph::start(Options::default()).await;
    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .json(&json!({
            "query": "subscription($limit: Int) { notificationAdded(limit: $limit) { id actor { handle displayName } post { body likeCount } } }",
            "variables": { "limit": 2 },
        }))
        .send()
        .await
        .unwrap();
    let mut stream = SseClient::new(response);
    graph
        .notifications
        .sockets
        .wait_for("the upstream subscription", |sockets| sockets.active == 1)
        .await;

    graph.publish("n1", "u2", "p2").await;
    assert_eq!(
        stream.frame().await.next(),
        event("n1", "grace", "Grace Hopper", "Compilers for everyone", 7)
    );
    graph.publish("n2", "u1", "p1").await;
    assert_eq!(
        stream.frame().await.next(),
        event(
            "n2",
            "ada",
            "Ada Lovelace",
            "Notes on the Analytical Engine",
            12
        )
    );
    stream.completes().await;
    graph
        .notifications
        .sockets
        .wait_for("the upstream socket to close", |sockets| {
            sockets.closed == 1
        })
        .await;
}

#[tokio::test]
async fn an_sse_get_with_a_preflight_header_subscribes_too() {
    let graph = Graph::start(Options::default()).await;
    let response = graph
        .http()
        .get(&graph.url)
        .query(&[(
            "query",
            "subscription { notificationAdded(limit: 1) { actor { handle } } }",
        )])
        .header("accept", "text/event-stream")
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    let mut stream = SseClient::new(response);
    graph
        .notifications
        .sockets
        .wait_for("the upstream subscription", |sockets| sockets.active == 1)
        .await;

    graph.publish("n1", "u1", "p1").await;
    assert_eq!(
        stream.frame().await.next(),
        json!({ "data": { "notificationAdded": { "actor": { "handle": "ada" } } } })
    );
    stream.completes().await;
}

#[tokio::test]
async fn queries_and_mutations_over_the_streaming_transports_give_one_result_then_complete() {
    let graph = Graph::start(Options::default()).await;
    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client
        .subscribe("q", "{ unread userCount postCount }")
        .await;
    assert_eq!(
        client.recv().await,
        json!({ "id": "q", "type": "next", "payload": { "data": { "unread": 3, "userCount": 2, "postCount": 2 } } })
    );
    assert_eq!(
        client.recv().await,
        json!({ "id": "q", "type": "complete" })
    );
    client
        .subscribe(
            "m",
            r#"mutation { publish(id: "n", actor: "u1", post: "p1") }"#,
        )
        .await;
    assert_eq!(
        client.recv().await,
        json!({ "id": "m", "type": "next", "payload": { "data": { "publish": 0 } } })
    );
    assert_eq!(
        client.recv().await,
        json!({ "id": "m", "type": "complete" })
    );

    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "{ unread }" }))
        .send()
        .await
        .unwrap();
    let mut stream = SseClient::new(response);
    assert_eq!(
        stream.frame().await.next(),
        json!({ "data": { "unread": 3 } })
    );
    stream.completes().await;
}
