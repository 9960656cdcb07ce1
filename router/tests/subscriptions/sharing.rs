//! One upstream socket per (subgraph, token), shared between client subscriptions and
//! released one subscription at a time: `complete` upstream when a client leaves, the
//! socket closed with its last subscription.

use serde_json::json;

use crate::clients::{SseClient, WsClient};
use crate::graph::{Graph, Options};

const SUBSCRIPTION: &str = "subscription { notificationAdded { id post { likeCount } } }";

fn with_auth() -> Options {
    Options {
        auth: true,
        ..Options::default()
    }
}

#[tokio::test]
async fn clients_with_the_same_token_share_one_upstream_socket_and_each_gets_its_events() {
    let graph = Graph::start(with_auth()).await;
    let token = graph.bearer("u1");
    let mut first = WsClient::connect(&graph.url, json!({ "Authorization": token })).await;
    let mut second = WsClient::connect(&graph.url, json!({ "authorization": token })).await;
    first.subscribe("a", SUBSCRIPTION).await;
    second.subscribe("a", SUBSCRIPTION).await;
    second
        .subscribe("b", "subscription { notificationAdded { id } }")
        .await;
    let sockets = graph
        .notifications
        .sockets
        .wait_for("three upstream subscriptions", |sockets| {
            sockets.active == 3
        })
        .await;
    assert_eq!(sockets.opened, 1, "one socket for one token");

    assert_eq!(graph.publish("n1", "u1", "p1").await, 3);
    let expected =
        json!({ "data": { "notificationAdded": { "id": "n1", "post": { "likeCount": 12 } } } });
    assert_eq!(
        first.recv().await,
        json!({ "id": "a", "type": "next", "payload": expected })
    );
    let mut seconds = vec![second.recv().await, second.recv().await];
    seconds.sort_by_key(|message| message["id"].as_str().map(str::to_owned));
    assert_eq!(
        seconds,
        vec![
            json!({ "id": "a", "type": "next", "payload": expected }),
            json!({ "id": "b", "type": "next", "payload": { "data": { "notificationAdded": { "id": "n1" } } } }),
        ]
    );

    // Another token gets its own socket.
    let mut third =
        WsClient::connect(&graph.url, json!({ "Authorization": graph.bearer("u2") })).await;
    third.subscribe("a", SUBSCRIPTION).await;
    let sockets = graph
        .notifications
        .sockets
        .wait_for("the other token's subscription", |sockets| {
            sockets.active == 4
        })
        .await;
    assert_eq!(sockets.opened, 2);
}

#[tokio::test]
async fn a_leaving_client_completes_its_upstream_subscription_and_the_last_closes_the_socket() {
    let graph = Graph::start(Options::default()).await;
    let sockets = &graph.notifications.sockets;
    let mut first = WsClient::connect(&graph.url, json!({})).await;
    let mut second = WsClient::connect(&graph.url, json!({})).await;
    first.subscribe("a", SUBSCRIPTION).await;
    second.subscribe("a", SUBSCRIPTION).await;
    sockets
        .wait_for("two upstream subscriptions", |sockets| sockets.active == 2)
        .await;

    // `complete` from the client: the subgraph drops that stream, the socket stays.
    first.send(json!({ "id": "a", "type": "complete" })).await;
    let now = sockets
        .wait_for("one upstream subscription", |sockets| sockets.active == 1)
        .await;
    assert_eq!((now.opened, now.closed), (1, 0));
    assert_eq!(graph.publish("n1", "u1", "p1").await, 1);
    assert_eq!(second.recv().await["id"], "a");

    // The last client disconnecting closes the upstream socket.
    second.close().await;
    let now = sockets
        .wait_for("the upstream socket to close", |sockets| {
            sockets.closed == 1
        })
        .await;
    assert_eq!(now.active, 0);

    // A later subscription opens a fresh socket.
    first.subscribe("b", SUBSCRIPTION).await;
    let now = sockets
        .wait_for("a new upstream subscription", |sockets| sockets.active == 1)
        .await;
    assert_eq!(now.opened, 2);
}

#[tokio::test]
async fn an_sse_client_disconnecting_releases_its_upstream_subscription() {
    let graph = Graph::start(Options::default()).await;
    let response = graph
        .http()
        .post(&graph.url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": SUBSCRIPTION }))
        .send()
        .await
        .unwrap();
    let stream = SseClient::new(response);
    graph
        .notifications
        .sockets
        .wait_for("the upstream subscription", |sockets| sockets.active == 1)
        .await;
    drop(stream);
    let now = graph
        .notifications
        .sockets
        .wait_for("the upstream socket to close", |sockets| {
            sockets.closed == 1
        })
        .await;
    assert_eq!(now.active, 0);
}
