//! Tokens over the streaming transports: validated as for HTTP requests, refused before
//! anything reaches a subgraph, forwarded on the upstream handshake and
//! `connection_init` when valid.

use std::num::NonZeroU32;

use agora_router::RateLimit;
use serde_json::json;

use crate::clients::{SseClient, WsClient};
use crate::graph::{Graph, Options};

const SUBSCRIPTION: &str = "subscription { notificationAdded { id actor { handle } } }";

fn with_auth() -> Options {
    Options {
        auth: true,
        ..Options::default()
    }
}

#[tokio::test]
async fn an_invalid_token_in_connection_init_closes_the_socket_with_4401() {
    let graph = Graph::start(with_auth()).await;
    let mut client = WsClient::open(&graph.url, None).await;
    client
        .send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer not-a-jwt" } }))
        .await;
    assert_eq!(client.closed().await, 4401);

    // A valid handshake header does not rescue an invalid token in the payload.
    let mut client = WsClient::open(&graph.url, Some(&graph.bearer("u1"))).await;
    client
        .send(json!({ "type": "connection_init", "payload": { "authorization": "Basic dTpw" } }))
        .await;
    assert_eq!(client.closed().await, 4401);
    assert_eq!(graph.notifications.sockets.now().opened, 0);
}

#[tokio::test]
async fn an_invalid_token_on_an_sse_request_is_refused_with_401() {
    let graph = Graph::start(with_auth()).await;
    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .header("authorization", "Bearer not-a-jwt")
        .json(&json!({ "query": SUBSCRIPTION }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(graph.notifications.sockets.now().opened, 0);
}

#[tokio::test]
async fn a_valid_token_from_connection_init_reaches_the_subgraph_handshake_and_init() {
    let graph = Graph::start(with_auth()).await;
    let token = graph.bearer("u1");
    let mut client = WsClient::connect(&graph.url, json!({ "Authorization": token })).await;
    client.subscribe("s", SUBSCRIPTION).await;
    let sockets = graph
        .notifications
        .sockets
        .wait_for("the upstream subscription", |sockets| sockets.active == 1)
        .await;
    assert_eq!(sockets.handshake_authorizations, vec![Some(token.clone())]);
    assert_eq!(
        sockets.init_payloads,
        vec![json!({ "Authorization": token })]
    );

    graph.publish("n1", "u2", "p1").await;
    assert_eq!(
        client.recv().await["payload"],
        json!({ "data": { "notificationAdded": { "id": "n1", "actor": { "handle": "grace" } } } })
    );
}

#[tokio::test]
async fn a_valid_token_from_the_handshake_header_or_an_sse_request_is_forwarded() {
    let graph = Graph::start(with_auth()).await;
    let first = graph.bearer("u1");
    let mut client = WsClient::open(&graph.url, Some(&first)).await;
    client.init(json!(null)).await;
    client.subscribe("s", SUBSCRIPTION).await;
    graph
        .notifications
        .sockets
        .wait_for("the upstream subscription", |sockets| sockets.active == 1)
        .await;

    let second = graph.bearer("u2");
    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .header("authorization", &second)
        .json(&json!({ "query": SUBSCRIPTION }))
        .send()
        .await
        .unwrap();
    let mut stream = SseClient::new(response);
    let sockets = graph
        .notifications
        .sockets
        .wait_for("both upstream subscriptions", |sockets| sockets.active == 2)
        .await;
    assert_eq!(
        sockets.handshake_authorizations,
        vec![Some(first.clone()), Some(second.clone())]
    );
    assert_eq!(
        sockets.init_payloads,
        vec![
            json!({ "Authorization": first }),
            json!({ "Authorization": second })
        ]
    );
    graph.publish("n1", "u1", "p1").await;
    let expected =
        json!({ "data": { "notificationAdded": { "id": "n1", "actor": { "handle": "ada" } } } });
    assert_eq!(client.recv().await["payload"], expected);
    assert_eq!(stream.frame().await.next(), expected);
}

#[tokio::test]
async fn each_subscription_counts_against_its_users_rate_limit() {
    let graph = Graph::start(Options {
        auth: true,
        rate_limit: Some(RateLimit {
            requests_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(2).unwrap(),
        }),
        ..Options::default()
    })
    .await;
    let mut client =
        WsClient::connect(&graph.url, json!({ "Authorization": graph.bearer("u1") })).await;

    for id in ["1", "2", "3"] {
        client.subscribe(id, SUBSCRIPTION).await;
    }

    let refused = client.recv().await;
    assert_eq!(refused["id"], "3", "{refused}");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    graph
        .notifications
        .sockets
        .wait_for("the two allowed subscriptions", |sockets| {
            sockets.started == 2
        })
        .await;
}
