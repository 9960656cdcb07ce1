//! Request deduplication: identical queries in flight at once cost a subgraph one
//! request; other callers, mutations, a query sent after a mutation, and a router
//! configured without it, do not share.
//!
//! The subgraph holds its answers back while the test counts what reached it, so the
//! requests overlap whatever the machine's speed.

mod helpers;

use std::future::Future;
use std::time::Duration;

use futures::future::join_all;
use helpers::{Options, TestGraph, series, spawn, spawn_configured};
use serde_json::{Value, json};

const POSTS: &str = "{ posts { title author { handle } } }";

/// Fetches that joined an identical request to `subgraph` instead of sending one.
async fn joined(graph: &TestGraph, subgraph: &str) -> f64 {
    let metrics = graph.metrics().await;
    series(
        &metrics,
        &format!("agora_router_subgraph_joined_total{{subgraph=\"{subgraph}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Waits (up to 10 s) until `reached` says so.
async fn once<F: Future<Output = bool>>(mut reached: impl FnMut() -> F, what: &str) {
    for _ in 0..200 {
        if reached().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 10 s for {what}");
}

fn posts_request(authorization: Option<&str>) -> (Value, Option<&str>) {
    (json!({ "query": POSTS }), authorization)
}

/// Sends `requests` at once while `subgraph` holds its answers, releasing them when
/// `reached` holds, and returns the response bodies.
async fn overlapping<F: Future<Output = bool>>(
    graph: &TestGraph,
    subgraph: &helpers::Stats,
    requests: Vec<(Value, Option<&str>)>,
    reached: impl FnMut() -> F,
    what: &str,
) -> Vec<Value> {
    let hold = subgraph.hold().await;
    let release = async {
        once(reached, what).await;
        drop(hold);
    };
    let sent = join_all(
        requests
            .into_iter()
            .map(|(body, authorization)| graph.post(body, authorization)),
    );
    let (responses, ()) = tokio::join!(sent, release);
    responses
        .into_iter()
        .map(|response| response.body)
        .collect()
}

#[tokio::test]
async fn identical_queries_in_flight_share_one_request_per_subgraph() {
    let graph = &spawn().await;
    let alone = graph.query(POSTS).await;
    assert!(
        alone["data"]["posts"][0]["author"]["handle"].is_string(),
        "{alone}"
    );
    let before = graph.content.requests();

    let bodies = overlapping(
        graph,
        &graph.content,
        (0..5).map(|_| posts_request(None)).collect(),
        || async move {
            graph.content.requests() - before + joined(graph, "content").await as usize >= 5
        },
        "five fetches to reach content or join one that did",
    )
    .await;

    assert_eq!(
        graph.content.requests() - before,
        1,
        "one request for five callers"
    );
    assert_eq!(joined(graph, "content").await, 4.0);
    for body in bodies {
        assert_eq!(body, alone, "each caller gets the whole answer");
    }
}

#[tokio::test]
async fn callers_with_different_authorization_are_not_shared() {
    let graph = &spawn().await;
    let before = graph.content.requests();

    let bodies = overlapping(
        graph,
        &graph.content,
        vec![
            posts_request(Some("Bearer one")),
            posts_request(Some("Bearer two")),
        ],
        || async move { graph.content.requests() - before >= 2 },
        "both callers' requests to reach content",
    )
    .await;

    assert_eq!(joined(graph, "content").await, 0.0);
    let authorizations = graph.content.authorizations();
    assert!(authorizations.contains(&Some("Bearer one".to_owned())));
    assert!(authorizations.contains(&Some("Bearer two".to_owned())));
    assert!(
        bodies.iter().all(|body| body["errors"].is_null()),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn identical_mutations_each_reach_the_subgraph() {
    let graph = &spawn().await;
    let rename = || {
        (
            json!({ "query": r#"mutation { renameMe(handle: "same") }"# }),
            None,
        )
    };

    let bodies = overlapping(
        graph,
        &graph.identity,
        vec![rename(), rename(), rename()],
        || async move { graph.identity.requests() >= 3 },
        "three mutations to reach identity",
    )
    .await;

    assert_eq!(graph.identity.requests(), 3);
    assert_eq!(joined(graph, "identity").await, 0.0);
    for body in bodies {
        assert_eq!(body["data"]["renameMe"], "same", "{body}");
    }
}

#[tokio::test]
async fn a_query_sent_after_a_mutation_does_not_join_one_sent_before_it() {
    let graph = &spawn().await;
    let hold = graph.content.hold().await;
    let earlier = graph.post(json!({ "query": POSTS }), None);
    let later = async {
        once(
            || async move { graph.content.requests() >= 1 },
            "the first query",
        )
        .await;
        let renamed = graph
            .post(
                json!({ "query": r#"mutation { renameMe(handle: "new") }"# }),
                None,
            )
            .await;
        assert_eq!(renamed.body["data"]["renameMe"], "new", "{}", renamed.body);
        let again = graph.post(json!({ "query": POSTS }), None);
        let release = async {
            once(
                || async move { graph.content.requests() >= 2 },
                "the query after the mutation to send its own request",
            )
            .await;
            drop(hold);
        };
        tokio::join!(again, release).0
    };

    let (earlier, later) = tokio::join!(earlier, later);

    assert_eq!(graph.content.requests(), 2);
    assert_eq!(joined(graph, "content").await, 0.0);
    assert_eq!(earlier.body, later.body);
}

#[tokio::test]
async fn a_router_configured_without_dedupe_sends_every_query() {
    let graph = &spawn_configured(Options::default(), |config| config.dedupe_queries = false).await;

    overlapping(
        graph,
        &graph.content,
        (0..3).map(|_| posts_request(None)).collect(),
        || async move { graph.content.requests() >= 3 },
        "three requests to reach content",
    )
    .await;

    assert_eq!(graph.content.requests(), 3);
}
