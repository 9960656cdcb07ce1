//! Projection and errors: aliases, named and inline fragments, `__typename`,
//! `@skip`/`@include` with variables and defaults (and the `Condition` plan nodes they
//! put on fetch boundaries), non-null propagation to the nearest nullable parent,
//! errors at the client's paths, partial data when a subgraph fails, and lists of
//! entities with nulls. 24 operations.

use async_graphql::{
    EmptyMutation, EmptySubscription, ErrorExtensions, ID, Object, Result, Schema,
};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

/// (id, name, nickname, best friend, friends)
type UserRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [&'static str],
);

const USERS: [UserRow; 3] = [
    ("u1", "Ada", Some("ada"), Some("u2"), &["u2", "u3"]),
    ("u2", "Grace", None, None, &["u1"]),
    ("u3", "Alan", Some("turing"), Some("u1"), &[]),
];

fn user(id: &str) -> Option<User> {
    USERS.iter().find(|u| u.0 == id).map(User)
}

// ---- users ----------------------------------------------------------------------------

struct User(&'static UserRow);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn name(&self) -> &str {
        self.0.1
    }
    async fn nickname(&self) -> Option<&str> {
        self.0.2
    }
    async fn best_friend(&self) -> Option<User> {
        self.0.3.and_then(user)
    }
    async fn friends(&self) -> Vec<User> {
        self.0.4.iter().filter_map(|id| user(id)).collect()
    }
}

struct UsersQuery;

#[Object(name = "Query")]
impl UsersQuery {
    async fn me(&self) -> Option<User> {
        user("u1")
    }
    async fn user(&self, id: ID) -> Option<User> {
        user(&id)
    }
    async fn users(&self) -> Vec<User> {
        USERS.iter().map(User).collect()
    }
    /// A list with a hole in it.
    async fn maybe_users(&self) -> Vec<Option<User>> {
        vec![user("u1"), None, user("u3")]
    }
    #[graphql(entity)]
    async fn find_user(&self, id: ID) -> Option<User> {
        user(&id)
    }
}

// ---- posts ----------------------------------------------------------------------------

/// (id, title, author)
const POSTS: [(&str, &str, &str); 3] = [
    ("p1", "Engines", "u1"),
    ("p2", "Compilers", "u2"),
    ("p3", "Numbers", "u1"),
];

struct Post(&'static (&'static str, &'static str, &'static str));

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn title(&self) -> &str {
        self.0.1
    }
    /// Fails for `p2`, is null for `p3`.
    async fn subtitle(&self) -> Result<Option<&str>> {
        match self.0.0 {
            "p1" => Ok(Some("On notes")),
            "p2" => Err("Subtitle lost".into()),
            _ => Ok(None),
        }
    }
    async fn author(&self) -> PostsUser {
        PostsUser(ID(self.0.2.to_owned()))
    }
}

struct PostsUser(ID);

#[Object(name = "User")]
impl PostsUser {
    async fn id(&self) -> &ID {
        &self.0
    }
    async fn posts(&self) -> Vec<Post> {
        POSTS
            .iter()
            .filter(|p| p.2 == self.0.as_str())
            .map(Post)
            .collect()
    }
    /// Non-null, and failing for `u3`.
    async fn karma(&self) -> Result<i32> {
        match self.0.as_str() {
            "u1" => Ok(10),
            "u2" => Ok(20),
            _ => Err(async_graphql::Error::new("Karma unavailable")
                .extend_with(|_, e| e.set("code", "KARMA_UNAVAILABLE"))),
        }
    }
    /// Nullable, and refused for `u2`. async-graphql leaves the list index out of
    /// `_entities` error paths, so the router can only tell which entity an error is
    /// about by which one is null there: no other user's badge is null.
    async fn badge(&self) -> Result<Option<&str>> {
        match self.0.as_str() {
            "u1" => Ok(Some("gold")),
            "u2" => Err(async_graphql::Error::new("Not allowed")
                .extend_with(|_, e| e.set("code", "FORBIDDEN"))),
            _ => Ok(Some("bronze")),
        }
    }
}

struct PostsQuery;

#[Object(name = "Query")]
impl PostsQuery {
    async fn feed(&self) -> Vec<Post> {
        POSTS.iter().map(Post).collect()
    }
    #[graphql(entity)]
    async fn find_user(&self, id: ID) -> PostsUser {
        PostsUser(id)
    }
}

// ---- scores: composed, but down ---------------------------------------------------------

struct ScoresUser(ID);

#[Object(name = "User")]
impl ScoresUser {
    async fn id(&self) -> &ID {
        &self.0
    }
    async fn score(&self) -> Option<i32> {
        Some(1)
    }
    async fn rank(&self) -> i32 {
        1
    }
}

struct ScoresQuery;

#[Object(name = "Query")]
impl ScoresQuery {
    async fn status(&self) -> Option<&str> {
        Some("up")
    }
    #[graphql(entity)]
    async fn find_user(&self, id: ID) -> ScoresUser {
        ScoresUser(id)
    }
}

async fn graph() -> Graph {
    Graph::start(vec![
        Subgraph::serve(
            "users",
            Schema::build(UsersQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "posts",
            Schema::build(PostsQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "scores",
            Schema::build(ScoresQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await
        .down()
        .await,
    ])
    .await
}

fn scores_down() -> serde_json::Value {
    json!({
        "message": "HTTP fetch failed from 'scores': it could not be reached",
        "extensions": { "code": "SUBGRAPH_REQUEST_FAILED", "serviceName": "scores" },
    })
}

#[tokio::test]
async fn the_response_has_exactly_the_shape_the_client_asked_for() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "aliases rename root fields and fields from both subgraphs",
                r#"{ a: user(id: "u1") { n: name k: karma } b: user(id: "u2") { name nick: nickname } }"#,
                json!({ "data": {
                    "a": { "n": "Ada", "k": 10 },
                    "b": { "name": "Grace", "nick": null },
                } }),
            ),
            case(
                "named fragments and an inline fragment without a type condition",
                "query { me { ...Names ... @include(if: true) { karma } } }
                 fragment Names on User { id name ...Nick }
                 fragment Nick on User { nickname }",
                json!({ "data": { "me": {
                    "id": "u1", "name": "Ada", "nickname": "ada", "karma": 10,
                } } }),
            ),
            case(
                "__typename alone on the root type",
                "{ __typename }",
                json!({ "data": { "__typename": "Query" } }),
            ),
            case(
                "__typename on entities from two subgraphs",
                "{ feed { __typename author { __typename name } } }",
                json!({ "data": { "feed": [
                    { "__typename": "Post", "author": { "__typename": "User", "name": "Ada" } },
                    { "__typename": "Post", "author": { "__typename": "User", "name": "Grace" } },
                    { "__typename": "Post", "author": { "__typename": "User", "name": "Ada" } },
                ] } }),
            ),
            case(
                "the same field twice under two aliases with different selections",
                "{ me { first: posts { title } second: posts { id } } }",
                json!({ "data": { "me": {
                    "first": [{ "title": "Engines" }, { "title": "Numbers" }],
                    "second": [{ "id": "p1" }, { "id": "p3" }],
                } } }),
            ),
            case(
                "entities in lists of entities, across both subgraphs twice",
                "{ me { friends { name posts { title author { nickname } } } } }",
                json!({ "data": { "me": { "friends": [
                    { "name": "Grace", "posts": [{ "title": "Compilers", "author": { "nickname": null } }] },
                    { "name": "Alan", "posts": [] },
                ] } } }),
            ),
        ])
        .await;
}

#[tokio::test]
async fn skip_and_include_follow_variables_and_skip_whole_fetches() {
    let graph = graph().await;
    let query = "query ($withPosts: Boolean!, $noNick: Boolean!) {
        me { name nickname @skip(if: $noNick) posts @include(if: $withPosts) { title } }
    }";
    graph
        .check(&[
            case(
                "an included field on a fetch boundary is fetched",
                query,
                json!({ "data": { "me": {
                    "name": "Ada", "posts": [{ "title": "Engines" }, { "title": "Numbers" }],
                } } }),
            )
            .variables(json!({ "withPosts": true, "noNick": true }))
            .requests("posts", 1),
            case(
                "a field excluded on a fetch boundary is not fetched at all",
                query,
                json!({ "data": { "me": { "name": "Ada", "nickname": "ada" } } }),
            )
            .variables(json!({ "withPosts": false, "noNick": false }))
            .requests("posts", 0),
            case(
                "a variable's default includes a field",
                "query ($withPosts: Boolean = true) { me { posts @include(if: $withPosts) { id } } }",
                json!({ "data": { "me": { "posts": [{ "id": "p1" }, { "id": "p3" }] } } }),
            )
            .requests("posts", 1),
            case(
                "a variable's value overrides its default",
                "query ($withPosts: Boolean = true) { me { name posts @include(if: $withPosts) { id } } }",
                json!({ "data": { "me": { "name": "Ada" } } }),
            )
            .variables(json!({ "withPosts": false }))
            .requests("posts", 0),
            case(
                "a skipped inline fragment across a fetch boundary",
                "query ($hide: Boolean!) { me { name ... @skip(if: $hide) { karma badge } } }",
                json!({ "data": { "me": { "name": "Ada" } } }),
            )
            .variables(json!({ "hide": true }))
            .requests("posts", 0),
            case(
                "skip and include together: included only when not skipped",
                "query ($s: Boolean!, $i: Boolean!) { me { name @skip(if: $s) @include(if: $i) karma } }",
                json!({ "data": { "me": { "karma": 10 } } }),
            )
            .variables(json!({ "s": true, "i": true })),
            case(
                "a root field excluded by a literal condition",
                "{ me { name } feed @include(if: false) { title } }",
                json!({ "data": { "me": { "name": "Ada" } } }),
            )
            .requests("posts", 0),
            case(
                "a missing required variable is refused before anything is fetched",
                "query ($id: ID!) { user(id: $id) { name } }",
                json!({ "errors": [{
                    "message": "Variable \"$id\" of required type \"ID!\" was not provided.",
                    "extensions": { "code": "BAD_USER_INPUT" },
                }] }),
            )
            .requests("users", 0),
        ])
        .await;
}

#[tokio::test]
async fn nulls_propagate_and_errors_keep_the_clients_paths() {
    let graph = graph().await;
    let karma_error = |path: serde_json::Value| {
        json!({
            "message": "Karma unavailable",
            "path": path,
            "extensions": { "code": "KARMA_UNAVAILABLE" },
        })
    };
    graph
        .check(&[
            case(
                "a null in a non-null field of a non-null list item of a non-null field nulls data",
                "{ users { id karma } }",
                json!({ "data": null, "errors": [karma_error(json!(["users", 2, "karma"]))] }),
            ),
            case(
                "a null in a non-null field nulls its nullable list item",
                "{ maybeUsers { id karma } }",
                json!({
                    "data": { "maybeUsers": [{ "id": "u1", "karma": 10 }, null, null] },
                    "errors": [karma_error(json!(["maybeUsers", 2, "karma"]))],
                }),
            ),
            case(
                "a null in a non-null field nulls its nullable parent field",
                r#"{ user(id: "u3") { name karma } me { name } }"#,
                json!({
                    "data": { "user": null, "me": { "name": "Ada" } },
                    "errors": [karma_error(json!(["user", "karma"]))],
                }),
            ),
            case(
                "an error in a nullable entity field nulls only that field",
                "{ users { id badge } }",
                json!({
                    "data": { "users": [
                        { "id": "u1", "badge": "gold" },
                        { "id": "u2", "badge": null },
                        { "id": "u3", "badge": "bronze" },
                    ] },
                    "errors": [{
                        "message": "Not allowed",
                        "path": ["users", 1, "badge"],
                        "extensions": { "code": "FORBIDDEN" },
                    }],
                }),
            ),
            case(
                "an error in a root fetch keeps the subgraph's path",
                "{ feed { id subtitle } }",
                json!({
                    "data": { "feed": [
                        { "id": "p1", "subtitle": "On notes" },
                        { "id": "p2", "subtitle": null },
                        { "id": "p3", "subtitle": null },
                    ] },
                    "errors": [{ "message": "Subtitle lost", "path": ["feed", 1, "subtitle"] }],
                }),
            ),
            case(
                "entities of a list with a hole are fetched for the items that exist",
                "{ maybeUsers { name posts { title } } }",
                json!({ "data": { "maybeUsers": [
                    { "name": "Ada", "posts": [{ "title": "Engines" }, { "title": "Numbers" }] },
                    null,
                    { "name": "Alan", "posts": [] },
                ] } }),
            ),
            case(
                "a subgraph that is down leaves its nullable fields null and one error",
                "{ me { name score } }",
                json!({
                    "data": { "me": { "name": "Ada", "score": null } },
                    "errors": [scores_down()],
                }),
            ),
            case(
                "a non-null field of a subgraph that is down nulls its nullable parent",
                "{ me { name rank } }",
                json!({
                    "data": { "me": null },
                    "errors": [
                        scores_down(),
                        {
                            "message": "Cannot return null for non-nullable field User.rank.",
                            "path": ["me", "rank"],
                        },
                    ],
                }),
            ),
            case(
                "a root field of a subgraph that is down is null next to the others",
                "{ status me { name } }",
                json!({
                    "data": { "status": null, "me": { "name": "Ada" } },
                    "errors": [scores_down()],
                }),
            ),
            case(
                "errors from two subgraphs in one response",
                r#"{ user(id: "u2") { badge } feed { id subtitle } }"#,
                json!({
                    "data": {
                        "user": { "badge": null },
                        "feed": [
                            { "id": "p1", "subtitle": "On notes" },
                            { "id": "p2", "subtitle": null },
                            { "id": "p3", "subtitle": null },
                        ],
                    },
                    "errors": [
                        { "message": "Subtitle lost", "path": ["feed", 1, "subtitle"] },
                        {
                            "message": "Not allowed",
                            "path": ["user", "badge"],
                            "extensions": { "code": "FORBIDDEN" },
                        },
                    ],
                }),
            ),
        ])
        .await;
}
