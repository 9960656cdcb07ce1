//! `@inaccessible` and `@tag`: an inaccessible field, argument, enum value, root field
//! and type are missing from the API schema (validation refuses them, introspection
//! omits them) yet still usable by the planner for `@requires`; tags change nothing
//! a client sees. 14 operations.

use async_graphql::{EmptyMutation, EmptySubscription, Enum, ID, Object, Schema, SimpleObject};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    Public,
    Private,
    /// Never part of the API.
    #[graphql(inaccessible)]
    Hidden,
}

/// (id, name, ssn, visibility)
const PEOPLE: [(&str, &str, &str, Visibility); 3] = [
    ("h1", "Ada", "123-45-6789", Visibility::Public),
    ("h2", "Grace", "987-65-4321", Visibility::Private),
    ("h3", "Alan", "555-12-3456", Visibility::Hidden),
];

// ---- people ---------------------------------------------------------------------------

struct Person(&'static (&'static str, &'static str, &'static str, Visibility));

#[Object]
impl Person {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    #[graphql(tag = "public")]
    async fn name(&self) -> &str {
        self.0.1
    }
    #[graphql(inaccessible)]
    async fn ssn(&self) -> &str {
        self.0.2
    }
    /// `h3` is `HIDDEN`, a value the API does not have.
    async fn visibility(&self) -> Visibility {
        self.0.3
    }
}

#[derive(SimpleObject)]
#[graphql(inaccessible)]
struct Secret {
    code: String,
}

struct PeopleQuery;

#[Object(name = "Query")]
impl PeopleQuery {
    async fn people(&self) -> Vec<Person> {
        PEOPLE.iter().map(Person).collect()
    }
    async fn person(
        &self,
        id: ID,
        #[graphql(inaccessible, default)] include_hidden: bool,
    ) -> Option<Person> {
        PEOPLE
            .iter()
            .find(|p| p.0 == id.as_str() && (include_hidden || p.3 != Visibility::Hidden))
            .map(Person)
    }
    async fn people_with(&self, visibility: Visibility) -> Vec<Person> {
        PEOPLE
            .iter()
            .filter(|p| p.3 == visibility)
            .map(Person)
            .collect()
    }
    #[graphql(inaccessible)]
    async fn secret(&self) -> Secret {
        Secret {
            code: "42".to_owned(),
        }
    }
    #[graphql(entity)]
    async fn find_person(&self, id: ID) -> Option<Person> {
        PEOPLE.iter().find(|p| p.0 == id.as_str()).map(Person)
    }
}

// ---- notes ----------------------------------------------------------------------------

struct NotedPerson {
    id: ID,
    ssn: Option<String>,
}

#[Object(name = "Person")]
impl NotedPerson {
    async fn id(&self) -> &ID {
        &self.id
    }
    #[graphql(external, inaccessible)]
    async fn ssn(&self) -> Option<&str> {
        self.ssn.as_deref()
    }
    /// Built from a field no client can select.
    #[graphql(requires = "ssn")]
    async fn masked(&self) -> Option<String> {
        let ssn = self.ssn.as_deref()?;
        Some(format!("***-**-{}", &ssn[ssn.len() - 4..]))
    }
    #[graphql(tag = "internal")]
    async fn notes(&self) -> Vec<&str> {
        match self.id.as_str() {
            "h1" => vec!["first programmer"],
            _ => Vec::new(),
        }
    }
}

struct NotesQuery;

#[Object(name = "Query")]
impl NotesQuery {
    #[graphql(entity)]
    async fn find_person(&self, #[graphql(key)] id: ID, ssn: Option<String>) -> NotedPerson {
        NotedPerson { id, ssn }
    }
}

async fn graph() -> Graph {
    Graph::start(vec![
        Subgraph::serve(
            "people",
            Schema::build(PeopleQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "notes",
            Schema::build(NotesQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
    ])
    .await
}

fn invalid(message: &str, line: usize, column: usize) -> serde_json::Value {
    json!({ "errors": [{
        "message": message,
        "locations": [{ "line": line, "column": column }],
        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
    }] })
}

/// A validation error the validator gives no location for.
fn refused(message: &str) -> serde_json::Value {
    json!({ "errors": [{
        "message": message,
        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
    }] })
}

#[tokio::test]
async fn inaccessible_elements_are_hidden_from_clients_but_not_from_the_planner() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "accessible fields are served",
                "{ people { id name } }",
                json!({ "data": { "people": [
                    { "id": "h1", "name": "Ada" },
                    { "id": "h2", "name": "Grace" },
                    { "id": "h3", "name": "Alan" },
                ] } }),
            ),
            case(
                "an inaccessible field is refused by validation",
                "{ people { ssn } }",
                invalid(r#"Cannot query field "ssn" on type "Person"."#, 1, 12),
            )
            .requests("people", 0),
            case(
                "an inaccessible root field is refused by validation",
                "{ secret { code } }",
                invalid(r#"Cannot query field "secret" on type "Query"."#, 1, 3),
            ),
            case(
                "an inaccessible argument is refused by validation",
                r#"{ person(id: "h3", includeHidden: true) { name } }"#,
                refused(r#"Unknown argument "includeHidden" on field "Query.person"."#),
            ),
            case(
                "an inaccessible enum value is refused in a literal",
                "{ peopleWith(visibility: HIDDEN) { name } }",
                refused(r#"Value "HIDDEN" does not exist in "Visibility" enum."#),
            ),
            case(
                "an inaccessible enum value is refused in a variable",
                "query ($v: Visibility!) { peopleWith(visibility: $v) { name } }",
                json!({ "errors": [{
                    "message": "Variable \"$v\" got invalid value \"HIDDEN\"; Value \"HIDDEN\" does not exist in \"Visibility\" enum.",
                    "extensions": { "code": "BAD_USER_INPUT" },
                }] }),
            )
            .variables(json!({ "v": "HIDDEN" }))
            .requests("people", 0),
            case(
                "an accessible enum value in a variable is passed on",
                "query ($v: Visibility!) { peopleWith(visibility: $v) { name } }",
                json!({ "data": { "peopleWith": [{ "name": "Grace" }] } }),
            )
            .variables(json!({ "v": "PRIVATE" })),
            case(
                "an inaccessible enum value returned by a subgraph is an error, and nulls up to data",
                "{ people { name visibility } }",
                json!({
                    "data": null,
                    "errors": [{
                        "message": "Enum \"Visibility\" cannot represent value: \"HIDDEN\"",
                        "path": ["people", 2, "visibility"],
                    }],
                }),
            ),
            case(
                "a field requiring an inaccessible field is resolved",
                "{ people { name masked } }",
                json!({ "data": { "people": [
                    { "name": "Ada", "masked": "***-**-6789" },
                    { "name": "Grace", "masked": "***-**-4321" },
                    { "name": "Alan", "masked": "***-**-3456" },
                ] } }),
            )
            .requests("people", 1)
            .requests("notes", 1),
            case(
                "tagged fields are served like any other",
                "{ people { name notes } }",
                json!({ "data": { "people": [
                    { "name": "Ada", "notes": ["first programmer"] },
                    { "name": "Grace", "notes": [] },
                    { "name": "Alan", "notes": [] },
                ] } }),
            ),
            case(
                "introspection omits inaccessible fields and keeps tagged ones",
                r#"{ __type(name: "Person") { fields { name } } }"#,
                json!({ "data": { "__type": { "fields": [
                    { "name": "id" },
                    { "name": "masked" },
                    { "name": "name" },
                    { "name": "notes" },
                    { "name": "visibility" },
                ] } } }),
            ),
            case(
                "introspection does not know an inaccessible type",
                r#"{ __type(name: "Secret") { name } }"#,
                json!({ "data": { "__type": null } }),
            ),
            case(
                "introspection omits inaccessible enum values",
                r#"{ __type(name: "Visibility") { enumValues { name } } }"#,
                json!({ "data": { "__type": { "enumValues": [
                    { "name": "PUBLIC" }, { "name": "PRIVATE" },
                ] } } }),
            ),
            case(
                "introspection omits inaccessible root fields and arguments",
                "{ __schema { queryType { fields { name args { name } } } } }",
                json!({ "data": { "__schema": { "queryType": { "fields": [
                    { "name": "people", "args": [] },
                    { "name": "peopleWith", "args": [{ "name": "visibility" }] },
                    { "name": "person", "args": [{ "name": "id" }] },
                ] } } } }),
            ),
        ])
        .await;
}
