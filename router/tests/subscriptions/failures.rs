//! What ends or refuses a subscription: a subgraph going away, limits, validation,
//! CSRF prevention and graphql-transport-ws protocol violations.

use std::fmt::Write as _;

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::clients::{SseClient, WsClient};
use crate::graph::{Graph, Options};

const SUBSCRIPTION: &str = "subscription { notificationAdded { id actor { handle } } }";

fn codes(errors: &Value) -> Vec<&str> {
    errors
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| error["extensions"]["code"].as_str())
        .collect()
}

#[tokio::test]
async fn a_subgraph_going_away_ends_the_subscription_with_an_error() {
    let graph = Graph::start(Options::default()).await;
    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client.subscribe("s", SUBSCRIPTION).await;
    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": SUBSCRIPTION }))
        .send()
        .await
        .unwrap();
    let mut stream = SseClient::new(response);
    graph
        .notifications
        .sockets
        .wait_for("two upstream subscriptions", |sockets| sockets.active == 2)
        .await;

    graph.notifications.stop();

    let message = client.recv().await;
    assert_eq!(
        (&message["id"], &message["type"]),
        (&json!("s"), &json!("error"))
    );
    assert_eq!(codes(&message["payload"]), ["SUBGRAPH_REQUEST_FAILED"]);
    assert_eq!(
        message["payload"][0]["extensions"]["serviceName"],
        "notifications"
    );
    let body = stream.frame().await.next();
    assert_eq!(codes(&body["errors"]), ["SUBGRAPH_REQUEST_FAILED"]);
    stream.completes().await;

    // The router is fine, and the client's socket too.
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.recv().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn limits_validation_and_introspection_come_back_as_error_messages() {
    let graph = Graph::start(Options::default()).await;
    let mut client = WsClient::connect(&graph.url, json!({})).await;
    let mut aliases = String::from("subscription { notificationAdded {");
    for index in 0..31 {
        let _ = write!(aliases, " a{index}: id");
    }
    aliases.push_str(" } }");
    let cases = [
        (aliases.as_str(), "MAX_ALIASES_EXCEEDED"),
        (
            "subscription { notificationAdded { nope } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "subscription { notificationAdded { id } notificationAdded2: notificationAdded { id } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "subscription { __schema { types { name } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("subscription {", "GRAPHQL_PARSE_FAILED"),
        (
            "subscription($limit: Int) { notificationAdded(limit: $limit) { id } }",
            "BAD_USER_INPUT",
        ),
    ];
    for (index, (query, code)) in cases.iter().enumerate() {
        let id = format!("op{index}");
        let mut payload = json!({ "query": query });
        if code == &"BAD_USER_INPUT" {
            payload["variables"] = json!({ "limit": "many" });
        }
        client.subscribe_with(&id, payload).await;
        let message = client.recv().await;
        assert_eq!(message["id"], id.as_str(), "{query}");
        assert_eq!(message["type"], "error", "{query}: {message}");
        let got = codes(&message["payload"]);
        assert!(
            !got.is_empty() && got.iter().all(|got| got == code),
            "{query}: expected {code}, got {message}"
        );
    }
    assert_eq!(graph.notifications.sockets.now().opened, 0);
}

#[tokio::test]
async fn http_without_a_stream_csrf_and_get_mutations_are_refused() {
    let graph = Graph::start(Options::default()).await;
    let body = graph.post(json!({ "query": SUBSCRIPTION })).await;
    assert_eq!(codes(&body["errors"]), ["OPERATION_NOT_SUPPORTED"]);

    let get = |query: &'static str, preflight: bool| {
        let mut request = graph
            .http()
            .get(&graph.url)
            .query(&[("query", query)])
            .header("accept", "text/event-stream");
        if preflight {
            request = request.header("apollo-require-preflight", "true");
        }
        request.send()
    };
    let response = get(SUBSCRIPTION, false).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(codes(&body["errors"]), ["CSRF_PREVENTION"]);

    let response = get(
        r#"mutation { publish(id: "n", actor: "u1", post: "p1") }"#,
        true,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(codes(&body["errors"]), ["METHOD_NOT_ALLOWED"]);
    assert_eq!(graph.notifications.sockets.now().opened, 0);
}

#[tokio::test]
async fn protocol_violations_close_the_socket_with_graphql_ws_codes() {
    let graph = Graph::start(Options::default()).await;

    let mut client = WsClient::open(&graph.url, None).await;
    client.subscribe("s", SUBSCRIPTION).await;
    assert_eq!(
        client.closed().await,
        4401,
        "subscribe before connection_init"
    );

    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(client.closed().await, 4429, "a second connection_init");

    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client.subscribe("s", SUBSCRIPTION).await;
    client.subscribe("s", SUBSCRIPTION).await;
    assert_eq!(client.closed().await, 4409, "a running id reused");

    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client.send(json!({ "type": "subscribe" })).await;
    assert_eq!(
        client.closed().await,
        4400,
        "subscribe without id and payload"
    );

    // A client that does not offer graphql-transport-ws.
    let url = graph.url.replacen("http://", "ws://", 1);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    match socket.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4406),
        other => panic!("expected close 4406, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stopping_router_completes_sse_streams_and_closes_sockets_with_1001() {
    let graph = Graph::start(Options::default()).await;
    let mut client = WsClient::connect(&graph.url, json!({})).await;
    client.subscribe("s", SUBSCRIPTION).await;
    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": SUBSCRIPTION }))
        .send()
        .await
        .unwrap();
    let mut stream = SseClient::new(response);
    graph
        .notifications
        .sockets
        .wait_for("two upstream subscriptions", |sockets| sockets.active == 2)
        .await;

    graph.stop_router();

    stream.completes().await;
    loop {
        match client.closed_or_message().await {
            Err(code) => {
                assert_eq!(code, 1001);
                break;
            }
            // The subscription may complete before the socket closes.
            Ok(message) => assert_eq!(message, json!({ "id": "s", "type": "complete" })),
        }
    }
    graph
        .notifications
        .sockets
        .wait_for("the upstream socket to close", |sockets| {
            sockets.closed == 1
        })
        .await;
}
