//! `@override`: a field moved to another subgraph, and progressive overrides whose
//! `label` is `percent(100)`, `percent(0)` or a feature flag. 7 operations.
//!
//! The router plans with `PlannerOverrideContext::default()`: no active flag and a
//! request percentage of 0, so a `percent(p)` label with `p > 0` always takes the
//! overriding subgraph and a flag label never does. The planner can split traffic by
//! percentage; the router does not draw a percentage per request yet.

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

async fn graph() -> Graph {
    Graph::start(vec![
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
    ])
    .await
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
