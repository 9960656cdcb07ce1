//! `@override`: a field moved to another subgraph, and progressive overrides whose
//! `label` is `percent(100)`, `percent(0)`, `percent(50)` or a feature flag. 9
//! operations, one of them sent 200 times.
//!
//! The router draws a percentage per request, so a `percent(p)` label sends about p %
//! of requests to the overriding subgraph; a flag label takes the override only when
//! the router is configured with the flag on.

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

const ACCOUNTS: [&str; 2] = ["a1", "a2"];

// ---- old: where every field started -----------------------------------------------

struct OldAccount(ID);

#[Object(name = "Account")]
impl OldAccount {
    async fn id(&self) -> &ID {
        &self.0
    }
    async fn balance(&self) -> i32 {
        1
    }
    async fn tier(&self) -> &str {
        "old"
    }
    async fn points(&self) -> i32 {
        1
    }
    async fn region(&self) -> &str {
        "old"
    }
    async fn rank(&self) -> i32 {
        1
    }
}

struct OldQuery;

#[Object(name = "Query")]
impl OldQuery {
    async fn accounts(&self) -> Vec<OldAccount> {
        ACCOUNTS
            .iter()
            .map(|id| OldAccount(ID(id.to_string())))
            .collect()
    }
    #[graphql(entity)]
    async fn find_account(&self, id: ID) -> OldAccount {
        OldAccount(id)
    }
}

// ---- new: where the fields move to ------------------------------------------------

struct NewAccount(ID);

#[Object(name = "Account")]
impl NewAccount {
    async fn id(&self) -> &ID {
        &self.0
    }
    #[graphql(override_from = "old")]
    async fn balance(&self) -> i32 {
        100
    }
    /// Labelled `percent(100)` below.
    #[graphql(override_from = "old")]
    async fn tier(&self) -> &str {
        "new"
    }
    /// Labelled `percent(0)` below.
    #[graphql(override_from = "old")]
    async fn points(&self) -> i32 {
        100
    }
    /// Labelled with the feature flag `beta` below.
    #[graphql(override_from = "old")]
    async fn region(&self) -> &str {
        "new"
    }
    /// Labelled `percent(50)` below.
    #[graphql(override_from = "old")]
    async fn rank(&self) -> i32 {
        100
    }
}

struct NewQuery;

#[Object(name = "Query")]
impl NewQuery {
    #[graphql(entity)]
    async fn find_account(&self, id: ID) -> NewAccount {
        NewAccount(id)
    }
}

/// Adds `label:` arguments, which async-graphql cannot write, and links the federation
/// version that defines them.
fn label_overrides(sdl: String) -> String {
    let labelled = [
        ("tier: String!", "percent(100)"),
        ("points: Int!", "percent(0)"),
        ("region: String!", "beta"),
        ("rank: Int!", "percent(50)"),
    ];
    let mut sdl = sdl.replace("federation/v2.5", "federation/v2.7");
    for (field, label) in labelled {
        let from = format!("{field} @override(from: \"old\")");
        assert!(sdl.contains(&from), "{from} not in the SDL:\n{sdl}");
        sdl = sdl.replace(
            &from,
            &format!("{field} @override(from: \"old\", label: \"{label}\")"),
        );
    }
    sdl
}

async fn subgraphs() -> Vec<Subgraph> {
    vec![
        Subgraph::serve(
            "old",
            Schema::build(OldQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "new",
            Schema::build(NewQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await
        .edit_sdl(label_overrides),
    ]
}

async fn graph() -> Graph {
    Graph::start(subgraphs().await).await
}

#[tokio::test]
async fn overridden_fields_are_fetched_from_the_subgraph_that_took_them_over() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "a field that was not overridden stays where it is",
                "{ accounts { id } }",
                json!({ "data": { "accounts": [{ "id": "a1" }, { "id": "a2" }] } }),
            )
            .requests("old", 1)
            .requests("new", 0),
            case(
                "an overridden field comes from the overriding subgraph",
                "{ accounts { id balance } }",
                json!({ "data": { "accounts": [
                    { "id": "a1", "balance": 100 },
                    { "id": "a2", "balance": 100 },
                ] } }),
            )
            .requests("old", 1)
            .requests("new", 1),
            case(
                "a percent(100) override always takes the overriding subgraph",
                "{ accounts { tier } }",
                json!({ "data": { "accounts": [{ "tier": "new" }, { "tier": "new" }] } }),
            )
            .requests("new", 1),
            case(
                "a percent(0) override never takes the overriding subgraph",
                "{ accounts { points } }",
                json!({ "data": { "accounts": [{ "points": 1 }, { "points": 1 }] } }),
            )
            .requests("old", 1)
            .requests("new", 0),
            case(
                "a flag override stays with the original subgraph while no flag is active",
                "{ accounts { region } }",
                json!({ "data": { "accounts": [{ "region": "old" }, { "region": "old" }] } }),
            )
            .requests("new", 0),
            case(
                "overridden and kept fields of one entity come from their own subgraphs",
                "{ accounts { balance tier points region } }",
                json!({ "data": { "accounts": [
                    { "balance": 100, "tier": "new", "points": 1, "region": "old" },
                    { "balance": 100, "tier": "new", "points": 1, "region": "old" },
                ] } }),
            )
            .requests("old", 1)
            .requests("new", 1),
            case(
                "the same operation is answered the same from the plan cache",
                "{ accounts { balance tier points region } }",
                json!({ "data": { "accounts": [
                    { "balance": 100, "tier": "new", "points": 1, "region": "old" },
                    { "balance": 100, "tier": "new", "points": 1, "region": "old" },
                ] } }),
            ),
        ])
        .await;
}

#[tokio::test]
async fn a_flag_override_takes_the_overriding_subgraph_once_the_flag_is_on() {
    let graph = Graph::start_configured(subgraphs().await, |config| {
        config.override_flags.insert("beta".to_owned());
    })
    .await;
    graph
        .check(&[case(
            "a flag override takes the overriding subgraph when its flag is on",
            "{ accounts { region } }",
            json!({ "data": { "accounts": [{ "region": "new" }, { "region": "new" }] } }),
        )
        .requests("old", 1)
        .requests("new", 1)])
        .await;
}

#[tokio::test]
async fn a_percent_50_override_sends_about_half_of_the_requests_to_each_subgraph() {
    let graph = graph().await;
    let mut overriding = 0;
    for _ in 0..200 {
        let response = graph.post("{ accounts { rank } }", &json!({})).await;
        match response["data"]["accounts"][0]["rank"].as_i64() {
            Some(100) => overriding += 1,
            Some(1) => {}
            _ => panic!("unexpected response: {response}"),
        }
    }
    // Binomial(200, 0.5) leaves 60..=140 with probability below 1e-8.
    assert!(
        (60..=140).contains(&overriding),
        "{overriding} of 200 requests took the override"
    );
}
