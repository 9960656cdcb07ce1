//! Reloading the supergraph while the router serves: new requests see the new schema
//! with the plan cache already warm, requests in flight finish on the old one, and a
//! supergraph that does not load leaves the current one serving.

mod helpers;

use std::time::Duration;

use agora_router::compose;
use helpers::{Options, TestGraph, spawn_configured};
use serde_json::json;

/// The test graph's supergraph without profiles' `User.since` field.
fn supergraph_without_since() -> String {
    let mut sdls = helpers::subgraph_sdls();
    let profiles = sdls.iter_mut().find(|sdl| sdl.name == "profiles").unwrap();
    let mut lines: Vec<&str> = profiles.sdl.lines().collect();
    let field = lines
        .iter()
        .position(|line| line.trim_start().starts_with("since:"))
        .expect("profiles has User.since");
    // The field and the description block above it.
    let mut start = field;
    if lines[field - 1].trim() == "\"\"\"" {
        start = field - 2;
        while lines[start].trim() != "\"\"\"" {
            start -= 1;
        }
    }
    lines.drain(start..=field);
    profiles.sdl = lines.join("\n");
    compose(&sdls).unwrap()
}

fn full_supergraph() -> String {
    compose(&helpers::subgraph_sdls()).unwrap()
}

async fn spawn_without_since() -> TestGraph {
    let supergraph_sdl = supergraph_without_since();
    spawn_configured(Options::default(), |config| {
        config.supergraph_sdl = supergraph_sdl;
    })
    .await
}

async fn plan_cache_hits(graph: &TestGraph) -> String {
    let metrics = reqwest::get(format!("{}/metrics", graph.router_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find(|line| line.starts_with(r#"agora_router_plan_cache_total{result="hit"}"#))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_reloaded_supergraph_serves_its_new_fields_with_the_plan_cache_warm() {
    let graph = spawn_without_since().await;
    let display_name = "{ me { displayName } }";
    assert_eq!(
        graph.query(display_name).await,
        json!({ "data": { "me": { "displayName": "Ada Lovelace" } } })
    );
    let before = graph.query("{ me { since } }").await;
    assert_eq!(
        TestGraph::error_codes(&before),
        ["GRAPHQL_VALIDATION_FAILED"]
    );

    let reloader = graph.reloader.clone();
    let reloaded = tokio::task::spawn_blocking(move || reloader.reload(&full_supergraph()))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(reloaded.warmed, 1, "the cached operation was planned again");
    assert_eq!(reloaded.dropped, 0);
    let hits_before = plan_cache_hits(&graph).await;
    assert_eq!(
        graph.query(display_name).await,
        json!({ "data": { "me": { "displayName": "Ada Lovelace" } } })
    );
    assert_ne!(
        plan_cache_hits(&graph).await,
        hits_before,
        "served from the warmed cache"
    );
    let after = graph.query("{ me { since } }").await;
    assert!(after["data"]["me"]["since"].is_string(), "{after}");
}

#[tokio::test]
async fn a_request_in_flight_during_a_reload_finishes_on_the_supergraph_it_started_with() {
    let graph = spawn_configured(Options::default(), |_| {}).await;
    let slow = tokio::spawn({
        let router_url = graph.router_url.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{router_url}/graphql"))
                .json(&json!({ "query": "{ slowMotd(millis: 400) me { since } }" }))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let reloader = graph.reloader.clone();
    tokio::task::spawn_blocking(move || reloader.reload(&supergraph_without_since()))
        .await
        .unwrap()
        .unwrap();

    let finished = slow.await.unwrap();
    assert_eq!(
        finished["data"]["slowMotd"], "Welcome, eventually",
        "{finished}"
    );
    assert!(finished["data"]["me"]["since"].is_string(), "{finished}");
    let now = graph.query("{ me { since } }").await;
    assert_eq!(TestGraph::error_codes(&now), ["GRAPHQL_VALIDATION_FAILED"]);
}

#[tokio::test]
async fn a_supergraph_that_does_not_load_is_refused_and_the_current_one_keeps_serving() {
    let graph = spawn_configured(Options::default(), |_| {}).await;

    let reloader = graph.reloader.clone();
    let refused = tokio::task::spawn_blocking(move || reloader.reload("type Query {"))
        .await
        .unwrap();

    assert!(refused.is_err());
    let still = graph.query("{ me { since } }").await;
    assert!(still["data"]["me"]["since"].is_string(), "{still}");
}
