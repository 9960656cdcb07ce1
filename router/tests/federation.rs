//! The router end to end: real async-graphql subgraphs, composed by `compose`, behind a
//! real router, queried over HTTP.

mod helpers;

use helpers::{Options, TestGraph, spawn, spawn_with};
use serde_json::json;

#[tokio::test]
async fn a_root_field_and_entity_fields_from_two_subgraphs_are_merged() {
    let graph = spawn().await;

    let body = graph.query("{ me { handle displayName } }").await;

    assert_eq!(
        body,
        json!({ "data": { "me": { "handle": "ada", "displayName": "Ada Lovelace" } } })
    );
}

#[tokio::test]
async fn a_list_of_entities_is_resolved_with_one_entities_request() {
    let graph = spawn().await;

    let body = graph.query("{ users { handle displayName } }").await;

    assert_eq!(
        body,
        json!({ "data": { "users": [
            { "handle": "ada", "displayName": "Ada Lovelace" },
            { "handle": "grace", "displayName": "Grace Hopper" },
            { "handle": "alan", "displayName": null },
        ] } })
    );
    assert_eq!(graph.profiles.entity_requests(), 1);
    assert_eq!(graph.profiles.representations(), vec![3]);
}

#[tokio::test]
async fn the_same_entity_reached_twice_is_sent_once() {
    let graph = spawn().await;

    let body = graph.query("{ posts { title author { handle } } }").await;

    assert_eq!(
        body,
        json!({ "data": { "posts": [
            { "title": "Notes on the Analytical Engine", "author": { "handle": "ada" } },
            { "title": "Compilers for everyone", "author": { "handle": "grace" } },
            { "title": "Bernoulli numbers", "author": { "handle": "ada" } },
        ] } })
    );
    assert_eq!(
        graph.identity.representations(),
        vec![2],
        "u1 and u2, once each"
    );
}

#[tokio::test]
async fn entity_fetches_to_one_subgraph_in_the_same_step_share_one_request() {
    let graph = spawn().await;

    let body = graph.query("{ me { displayName } users { bio } }").await;

    assert_eq!(body["data"]["me"], json!({ "displayName": "Ada Lovelace" }));
    assert_eq!(
        body["data"]["users"][1],
        json!({ "bio": "Grace Hopper's bio" })
    );
    assert_eq!(graph.profiles.entity_requests(), 1);
}

#[tokio::test]
async fn entities_nested_in_lists_are_resolved_across_three_subgraphs() {
    let graph = spawn().await;

    let body = graph
        .query("{ me { handle posts { title author { displayName } } } }")
        .await;

    assert_eq!(
        body,
        json!({ "data": { "me": { "handle": "ada", "posts": [
            { "title": "Notes on the Analytical Engine", "author": { "displayName": "Ada Lovelace" } },
            { "title": "Bernoulli numbers", "author": { "displayName": "Ada Lovelace" } },
        ] } } })
    );
    assert_eq!(graph.content.entity_requests(), 1);
    assert_eq!(
        graph.profiles.representations(),
        vec![1],
        "both posts share one author"
    );
}

#[tokio::test]
async fn root_fields_of_two_subgraphs_are_combined_in_one_response() {
    let graph = spawn().await;

    let body = graph.query("{ motd me { handle } }").await;

    assert_eq!(
        body,
        json!({ "data": { "motd": "Welcome to Agora", "me": { "handle": "ada" } } })
    );
}

#[tokio::test]
async fn aliases_fragments_and_typename_shape_the_response() {
    let graph = spawn().await;

    let body = graph
        .query(
            r#"
            query Shapes {
              kind: __typename
              first: me { ...Names }
              everyone: users { ... on User { id } __typename }
            }
            fragment Names on User { name: handle shown: displayName __typename }
            "#,
        )
        .await;

    assert_eq!(
        body,
        json!({ "data": {
            "kind": "Query",
            "first": { "name": "ada", "shown": "Ada Lovelace", "__typename": "User" },
            "everyone": [
                { "id": "u1", "__typename": "User" },
                { "id": "u2", "__typename": "User" },
                { "id": "u3", "__typename": "User" },
            ],
        } })
    );
    // Response keys keep the order of the client's selection.
    let keys: Vec<&String> = body["data"]["first"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "shown", "__typename"]);
}

#[tokio::test]
async fn skip_and_include_follow_variables_and_their_defaults() {
    let graph = spawn().await;

    let response = graph
        .post(
            json!({
                "query": r#"query ($skipHandle: Boolean!, $withName: Boolean = false) {
                    me { id handle @skip(if: $skipHandle) displayName @include(if: $withName) }
                }"#,
                "variables": { "skipHandle": true },
            }),
            None,
        )
        .await;

    assert_eq!(response.body, json!({ "data": { "me": { "id": "u1" } } }));
    assert_eq!(
        graph.profiles.requests(),
        0,
        "an excluded field is not fetched"
    );
}

#[tokio::test]
async fn members_of_a_union_are_resolved_by_their_runtime_type() {
    let graph = spawn().await;

    let body = graph
        .query(
            r#"{ search(term: "u2") { __typename ... on User { handle } ... on Post { title } } }"#,
        )
        .await;
    assert_eq!(
        body,
        json!({ "data": { "search": [{ "__typename": "User", "handle": "grace" }] } })
    );

    let body = graph
        .query(r#"{ search(term: "Compilers") { ... on User { handle } ... on Post { title } } }"#)
        .await;
    assert_eq!(
        body,
        json!({ "data": { "search": [{ "title": "Compilers for everyone" }] } })
    );
    assert_eq!(
        graph.identity.representations(),
        vec![1],
        "only the user is fetched"
    );
}

#[tokio::test]
async fn variables_reach_the_subgraph_that_uses_them() {
    let graph = spawn().await;

    let response = graph
        .post(
            json!({
                "query": "query Find($id: ID!) { user(id: $id) { handle displayName } }",
                "operationName": "Find",
                "variables": { "id": "u2" },
            }),
            None,
        )
        .await;

    assert_eq!(
        response.body,
        json!({ "data": { "user": { "handle": "grace", "displayName": "Grace Hopper" } } })
    );
}

#[tokio::test]
async fn a_missing_required_variable_is_rejected() {
    let graph = spawn().await;

    let response = graph
        .post(
            json!({ "query": "query ($id: ID!) { user(id: $id) { handle } }" }),
            None,
        )
        .await;

    assert_eq!(response.status, 400);
    assert_eq!(TestGraph::error_codes(&response.body), ["BAD_USER_INPUT"]);
    assert_eq!(graph.identity.requests(), 0);
}

#[tokio::test]
async fn a_subgraph_error_keeps_its_code_and_its_path() {
    let graph = spawn().await;

    let body = graph.query("{ me { handle secret } }").await;

    assert_eq!(
        body["data"],
        json!({ "me": { "handle": "ada", "secret": null } })
    );
    assert_eq!(body["errors"][0]["message"], "You must be signed in");
    assert_eq!(body["errors"][0]["path"], json!(["me", "secret"]));
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn an_entity_error_is_reported_at_the_clients_path() {
    let graph = spawn().await;

    let body = graph.query("{ users { handle bio } }").await;

    assert_eq!(body["data"]["users"][0]["bio"], "Ada Lovelace's bio");
    assert_eq!(
        body["data"]["users"][2],
        json!({ "handle": "alan", "bio": null })
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"][0]["path"], json!(["users", 2, "bio"]));
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_subgraph_that_is_down_leaves_partial_data_and_an_error() {
    let graph = spawn_with(Options {
        profiles_down: true,
        ..Options::default()
    })
    .await;

    let body = graph.query("{ me { handle displayName } }").await;

    assert_eq!(
        body["data"],
        json!({ "me": { "handle": "ada", "displayName": null } })
    );
    assert_eq!(TestGraph::error_codes(&body), ["SUBGRAPH_REQUEST_FAILED"]);
    assert_eq!(body["errors"][0]["extensions"]["serviceName"], "profiles");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("127.0.0.1"),
        "internal addresses stay internal: {message}"
    );
}

#[tokio::test]
async fn a_missing_non_null_field_nulls_the_nearest_nullable_parent() {
    let graph = spawn_with(Options {
        profiles_down: true,
        ..Options::default()
    })
    .await;

    let body = graph
        .query("{ motto: __typename me { handle since } }")
        .await;

    assert_eq!(body["data"], json!({ "motto": "Query", "me": null }));
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|error| error["path"] == json!(["me", "since"])
                && error["message"] == "Cannot return null for non-nullable field User.since."),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_null_reaching_a_non_null_root_field_nulls_data() {
    let graph = spawn_with(Options {
        profiles_down: true,
        ..Options::default()
    })
    .await;

    // `users: [User!]!`: one user without `since` voids the list, the list voids data.
    let body = graph.query("{ users { since } }").await;

    assert_eq!(body["data"], json!(null));
}

#[tokio::test]
async fn a_document_that_does_not_parse_is_rejected_with_its_code() {
    let graph = spawn().await;

    let response = graph.post(json!({ "query": "{ me { handle " }), None).await;

    assert_eq!(response.status, 400);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["GRAPHQL_PARSE_FAILED"]
    );
    assert!(response.body.get("data").is_none());
}

#[tokio::test]
async fn a_document_invalid_against_the_schema_is_rejected_with_its_code() {
    let graph = spawn().await;

    let response = graph
        .post(json!({ "query": "{ me { handle password } }" }), None)
        .await;

    assert_eq!(response.status, 400);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["GRAPHQL_VALIDATION_FAILED"]
    );
    assert!(
        response.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("password")
    );
    assert_eq!(graph.identity.requests(), 0);
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_is_a_bad_request() {
    let graph = spawn().await;

    let response = graph.post(json!({ "query": 42 }), None).await;

    assert_eq!(response.status, 400);
    assert_eq!(TestGraph::error_codes(&response.body), ["BAD_REQUEST"]);
}

#[tokio::test]
async fn the_authorization_header_reaches_every_subgraph() {
    let graph = spawn().await;

    let response = graph
        .post(
            json!({ "query": "{ authorization me { displayName } }" }),
            Some("Bearer t0k3n"),
        )
        .await;

    assert_eq!(response.body["data"]["authorization"], "Bearer t0k3n");
    let seen = [
        graph.identity.authorizations(),
        graph.profiles.authorizations(),
    ]
    .concat();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|header| header.as_deref() == Some("Bearer t0k3n"))
    );
}

#[tokio::test]
async fn introspection_is_answered_by_the_router() {
    let graph = spawn().await;

    let body = graph
        .query(
            r#"{
              __schema { queryType { name } mutationType { name } }
              user: __type(name: "User") { kind fields { name type { kind ofType { name } } } }
            }"#,
        )
        .await;

    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    assert_eq!(body["data"]["__schema"]["mutationType"]["name"], "Mutation");
    assert_eq!(body["data"]["user"]["kind"], "OBJECT");
    let fields: Vec<&str> = body["data"]["user"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    for expected in ["id", "handle", "displayName", "posts"] {
        assert!(fields.contains(&expected), "{fields:?}");
    }
    let handle = body["data"]["user"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "handle")
        .unwrap();
    assert_eq!(
        handle["type"],
        json!({ "kind": "NON_NULL", "ofType": { "name": "String" } })
    );
    assert_eq!(graph.identity.requests() + graph.profiles.requests(), 0);
}

#[tokio::test]
async fn introspection_inside_root_fragments_is_answered_beside_subgraph_fields() {
    let graph = spawn().await;

    let body = graph
        .query(
            r#"query {
              ... on Query { __schema { queryType { name } } motd }
              ...Types
              ... @include(if: true) { ...OnlyMeta }
            }
            fragment Types on Query { user: __type(name: "User") { kind } me { handle } }
            fragment OnlyMeta on Query { __typename t: __type(name: "Post") { name } }"#,
        )
        .await;

    assert_eq!(
        body,
        json!({ "data": {
            "__schema": { "queryType": { "name": "Query" } },
            "motd": "Welcome to Agora",
            "user": { "kind": "OBJECT" },
            "me": { "handle": "ada" },
            "__typename": "Query",
            "t": { "name": "Post" },
        } })
    );
}

#[tokio::test]
async fn introspection_alone_in_a_root_fragment_asks_no_subgraph() {
    let graph = spawn().await;

    let body = graph
        .query("{ ... on Query { __schema { queryType { name } } } }")
        .await;

    assert_eq!(
        body,
        json!({ "data": { "__schema": { "queryType": { "name": "Query" } } } })
    );
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn the_graphiql_introspection_query_is_answered() {
    let graph = spawn().await;

    let body = graph.query(INTROSPECTION_QUERY).await;

    assert!(body.get("errors").is_none(), "{body}");
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    assert!(
        types
            .iter()
            .any(|t| t["name"] == "Post" && t["kind"] == "OBJECT")
    );
    assert!(
        types
            .iter()
            .all(|t| !t["name"].as_str().unwrap().starts_with("join__"))
    );
    let directives = body["data"]["__schema"]["directives"].as_array().unwrap();
    assert!(directives.iter().any(|d| d["name"] == "include"));
}

#[tokio::test]
async fn introspection_is_refused_when_disabled() {
    let graph = spawn_with(Options {
        introspection: false,
        ..Options::default()
    })
    .await;

    let response = graph
        .post(json!({ "query": "{ __schema { types { name } } }" }), None)
        .await;

    assert_eq!(response.status, 400);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["GRAPHQL_VALIDATION_FAILED"]
    );
}

#[tokio::test]
async fn get_requests_run_queries_but_not_mutations() {
    let graph = spawn().await;

    let (status, body) = graph
        .get(
            &[
                ("query", "query ($id: ID!) { user(id: $id) { handle } }"),
                ("variables", r#"{"id":"u3"}"#),
            ],
            "application/json",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"data":{"user":{"handle":"alan"}}}"#);

    let (status, body) = graph
        .get(
            &[("query", r#"mutation { renameMe(handle: "x") }"#)],
            "application/json",
        )
        .await;
    assert_eq!(status, 405);
    assert!(body.contains("METHOD_NOT_ALLOWED"), "{body}");
}

#[tokio::test]
async fn mutations_run_over_post() {
    let graph = spawn().await;

    let body = graph
        .query(r#"mutation { renameMe(handle: "countess") }"#)
        .await;

    assert_eq!(body, json!({ "data": { "renameMe": "countess" } }));
}

#[tokio::test]
async fn a_browser_gets_graphiql() {
    let graph = spawn().await;

    let (status, body) = graph.get(&[], "text/html,application/xhtml+xml").await;

    assert_eq!(status, 200);
    assert!(body.contains("GraphiQL"));
    assert!(!body.contains("https://"), "nothing loads from elsewhere");
}

#[tokio::test]
async fn graphiql_scripts_and_styles_are_served_by_the_router_itself() {
    let graph = spawn().await;
    let (_, page) = graph.get(&[], "text/html").await;
    let assets: Vec<&str> = page
        .split('"')
        .filter(|part| part.starts_with("/graphiql/"))
        .collect();
    assert_eq!(assets.len(), 4, "{page}");

    for asset in assets {
        let response = reqwest::get(format!("{}{asset}", graph.router_url))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 1_000, "{asset}");
    }
    let missing = reqwest::get(format!("{}/graphiql/secrets.txt", graph.router_url))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn health_answers_ok() {
    let graph = spawn().await;

    let response = reqwest::get(format!("{}/health", graph.router_url))
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_repeated_operation_is_answered_the_same_from_the_plan_cache() {
    let graph = spawn().await;
    let query = "{ users { handle displayName } }";

    let first = graph.query(query).await;
    let second = graph.query(query).await;

    assert_eq!(first, second);
    assert_eq!(graph.profiles.entity_requests(), 2);
}

/// The query GraphiQL sends on load.
const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
}
"#;
