//! The entity cache: entities a subgraph lets the router reuse (`Cache-Control:
//! max-age`) are not asked for again until they expire or a mutation reaches the
//! subgraph. The test identity's `User.handleLength` carries a 60 s hint.

mod helpers;

use helpers::{Options, series, spawn, spawn_configured};
use serde_json::json;

const AUTHORS: &str = "{ posts { author { handle handleLength } } }";

fn authors() -> serde_json::Value {
    json!({ "data": { "posts": [
        { "author": { "handle": "ada", "handleLength": 3 } },
        { "author": { "handle": "grace", "handleLength": 5 } },
        { "author": { "handle": "ada", "handleLength": 3 } },
    ] } })
}

#[tokio::test]
async fn cached_entities_are_answered_without_asking_the_subgraph() {
    let graph = spawn().await;

    assert_eq!(graph.query(AUTHORS).await, authors());
    assert_eq!(graph.query(AUTHORS).await, authors());

    assert_eq!(graph.identity.representations(), vec![2], "asked once");
    let metrics = graph.metrics().await;
    let count = |result: &str| {
        let name =
            format!(r#"agora_router_entity_cache_total{{subgraph="identity",result="{result}"}}"#);
        series(&metrics, &name).unwrap_or_else(|| panic!("{name}\n{metrics}"))
    };
    assert_eq!((count("hit"), count("miss")), (2.0, 2.0));
}

#[tokio::test]
async fn only_the_entities_not_cached_are_asked_for() {
    let graph = spawn().await;

    let bernoulli = graph
        .query(
            r#"{ search(term: "Bernoulli") { ... on Post { author { handle handleLength } } } }"#,
        )
        .await;
    let all = graph.query(AUTHORS).await;

    assert_eq!(
        bernoulli,
        json!({ "data": { "search": [{ "author": { "handle": "ada", "handleLength": 3 } }] } })
    );
    assert_eq!(all, authors());
    assert_eq!(
        graph.identity.representations(),
        vec![1, 1],
        "ada, then grace alone"
    );
}

#[tokio::test]
async fn a_mutation_sent_to_the_subgraph_drops_its_cached_entities() {
    let graph = spawn().await;

    graph.query(AUTHORS).await;
    graph
        .query(r#"mutation { renameMe(handle: "ada2") }"#)
        .await;
    assert_eq!(graph.query(AUTHORS).await, authors());

    assert_eq!(graph.identity.representations(), vec![2, 2]);
}

#[tokio::test]
async fn answers_without_a_max_age_or_with_errors_are_not_kept() {
    let graph = spawn().await;

    for _ in 0..2 {
        graph.query("{ posts { author { handle } } }").await;
        graph
            .query("{ posts { author { handleLength secret } } }")
            .await;
    }

    assert_eq!(graph.identity.representations(), vec![2, 2, 2, 2]);
}

#[tokio::test]
async fn nothing_is_cached_when_entity_caching_is_off() {
    let graph = spawn_configured(Options::default(), |config| config.entity_cache = None).await;

    graph.query(AUTHORS).await;
    graph.query(AUTHORS).await;

    assert_eq!(graph.identity.representations(), vec![2, 2]);
}
