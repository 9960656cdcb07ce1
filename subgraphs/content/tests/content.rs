//! Content over real HTTP: posts, comments, hashtags and their events, with tokens from a
//! real identity subgraph on the test's own bus.
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`), each test on a namespace and databases of its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agora_kit::Settings;
use agora_kit::events::tables::{inbox, outbox};
use agora_kit::events::{self, BusTuning, Envelope, EventBus};
use agora_kit::testing::TestEnv;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One test's identity and content subgraphs and content's database.
struct App {
    /// Content's GraphQL endpoint.
    content: String,
    /// Identity's GraphQL endpoint, for registering users.
    identity: String,
    /// Content's own database, read directly to check the outbox and the inbox.
    db: DatabaseConnection,
    /// The test's bus, on which the test plays identity.
    bus: Arc<dyn EventBus>,
    client: reqwest::Client,
    stop: CancellationToken,
    _env: TestEnv,
}

/// A registered user.
struct Member {
    id: Uuid,
    token: String,
}

async fn spawn() -> App {
    let mut env = TestEnv::new();
    let tuning = BusTuning {
        ack_wait: Duration::from_secs(1),
        poll_interval: Duration::from_millis(20),
    };
    let bus = events::connect_with(&env.bus_config(), tuning)
        .await
        .expect("bus");
    let stop = CancellationToken::new();
    let mut vars = HashMap::from([
        (
            "AGORA_DATA_DIR".to_owned(),
            env.dir.path().display().to_string(),
        ),
        ("AGORA_IDENTITY_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("AGORA_CONTENT_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("AGORA_EVENTS_NAMESPACE".to_owned(), env.namespace()),
    ]);
    vars.insert(
        "AGORA_IDENTITY_DATABASE_URL".to_owned(),
        env.database_url("identity").await,
    );
    let content_db = env.database_url("content").await;
    vars.insert("AGORA_CONTENT_DATABASE_URL".to_owned(), content_db.clone());

    let lookup = |vars: &HashMap<String, String>, key: &str| vars.get(key).cloned();
    let settings = Settings::from_lookup("identity", |k| lookup(&vars, k)).expect("settings");
    let identity = agora_identity::build(settings, bus.clone())
        .await
        .expect("identity starts");
    let identity_addr = identity.local_addr();
    tokio::spawn(identity.run_until_stopped(stop.clone()));

    vars.insert(
        "AGORA_JWKS_URL".to_owned(),
        format!("http://{identity_addr}/.well-known/jwks.json"),
    );
    let settings = Settings::from_lookup("content", |k| lookup(&vars, k)).expect("settings");
    let content = agora_content::build(settings, bus.clone())
        .await
        .expect("content starts");
    let content_addr = content.local_addr();
    tokio::spawn(content.run_until_stopped(stop.clone()));

    let db = agora_kit::db::connect::<agora_content_migration::Migrator>(&content_db)
        .await
        .expect("content database");
    App {
        content: format!("http://{content_addr}/graphql"),
        identity: format!("http://{identity_addr}/graphql"),
        db,
        bus,
        client: reqwest::Client::new(),
        stop,
        _env: env,
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

const POST_FIELDS: &str = "id author { id } body tags createdAt editedAt commentCount";

impl App {
    async fn send(&self, url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    /// Runs an operation against content, as `member` or anonymously.
    async fn gql(&self, member: Option<&Member>, query: &str, variables: Value) -> Value {
        let token = member.map(|m| m.token.as_str());
        self.send(&self.content, token, query, variables).await
    }

    /// Runs an operation that must succeed and returns its data.
    async fn ok(&self, member: Option<&Member>, query: &str, variables: Value) -> Value {
        let response = self.gql(member, query, variables).await;
        assert!(response.get("errors").is_none(), "{response}");
        response["data"].clone()
    }

    async fn register(&self, handle: &str) -> Member {
        let response = self
            .send(
                &self.identity,
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
                json!({ "input": {
                    "email": format!("{handle}@example.org"),
                    "handle": handle,
                    "password": "correct horse battery",
                }}),
            )
            .await;
        let payload = &response["data"]["register"];
        Member {
            id: payload["user"]["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok())
                .unwrap_or_else(|| panic!("registered: {response}")),
            token: payload["accessToken"].as_str().expect("token").to_owned(),
        }
    }

    async fn create_post(&self, author: &Member, body: &str) -> Value {
        self.gql(
            Some(author),
            &format!(
                "mutation($body: String!) {{ createPost(input: {{ body: $body }}) {{ post {{ {POST_FIELDS} }} }} }}"
            ),
            json!({ "body": body }),
        )
        .await
    }

    /// Creates a post that must succeed; returns its id.
    async fn post_id(&self, author: &Member, body: &str) -> String {
        let response = self.create_post(author, body).await;
        response["data"]["createPost"]["post"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("created: {response}"))
            .to_owned()
    }

    async fn edit_post(&self, member: &Member, id: &str, body: &str) -> Value {
        self.gql(
            Some(member),
            "mutation($id: ID!, $body: String!) { editPost(input: { postId: $id, body: $body }) { post { id body tags editedAt } } }",
            json!({ "id": id, "body": body }),
        )
        .await
    }

    async fn delete_post(&self, member: &Member, id: &str) -> Value {
        self.gql(
            Some(member),
            "mutation($id: ID!) { deletePost(input: { postId: $id }) { deletedPostId } }",
            json!({ "id": id }),
        )
        .await
    }

    async fn add_comment(&self, member: &Member, post: &str, body: &str) -> Value {
        self.gql(
            Some(member),
            "mutation($id: ID!, $body: String!) { addComment(input: { postId: $id, body: $body }) { comment { id body author { id } post { id } } } }",
            json!({ "id": post, "body": body }),
        )
        .await
    }

    /// Adds a comment that must succeed; returns its id.
    async fn comment_id(&self, member: &Member, post: &str, body: &str) -> String {
        let response = self.add_comment(member, post, body).await;
        response["data"]["addComment"]["comment"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("commented: {response}"))
            .to_owned()
    }

    async fn delete_comment(&self, member: &Member, id: &str) -> Value {
        self.gql(
            Some(member),
            "mutation($id: ID!) { deleteComment(input: { commentId: $id }) { deletedCommentId post { id commentCount } } }",
            json!({ "id": id }),
        )
        .await
    }

    /// `Query.post`, null when there is none.
    async fn post(&self, id: &str) -> Value {
        self.ok(
            None,
            &format!("query($id: ID!) {{ post(id: $id) {{ {POST_FIELDS} }} }}"),
            json!({ "id": id }),
        )
        .await["post"]
            .clone()
    }

    /// The bodies of a post's comments on one page, the page's end cursor and whether more
    /// follow.
    async fn comments(
        &self,
        post: &str,
        first: i32,
        after: Option<&str>,
    ) -> (Vec<String>, Option<String>, bool) {
        let data = self
            .ok(
                None,
                "query($id: ID!, $first: Int, $after: String) { post(id: $id) { comments(first: $first, after: $after) { edges { cursor node { body } } pageInfo { endCursor hasNextPage hasPreviousPage } } } }",
                json!({ "id": post, "first": first, "after": after }),
            )
            .await;
        let connection = &data["post"]["comments"];
        (
            bodies(&connection["edges"]),
            connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned),
            connection["pageInfo"]["hasNextPage"] == true,
        )
    }

    /// The bodies of the posts tagged `tag`.
    async fn tagged(&self, tag: &str) -> Vec<String> {
        let data = self
            .ok(
                None,
                "query($tag: String!) { postsByTag(tag: $tag) { edges { node { body } } } }",
                json!({ "tag": tag }),
            )
            .await;
        bodies(&data["postsByTag"]["edges"])
    }

    /// The outbox rows content wrote, as (type, payload), oldest first.
    async fn outbox(&self) -> Vec<(String, Value)> {
        outbox::Entity::find()
            .order_by_asc(outbox::Column::Seq)
            .all(&self.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|row| {
                let envelope: Envelope = serde_json::from_str(&row.envelope).expect("envelope");
                (row.event_type, envelope.data)
            })
            .collect()
    }

    /// Publishes an event and waits (bounded) for content's consumer to record it in its
    /// inbox, which it does in the same transaction as the effect.
    async fn deliver(&self, envelope: Envelope) {
        self.bus.publish(&envelope).await.expect("publish");
        for _ in 0..500 {
            let key = ("content".to_owned(), envelope.id);
            if inbox::Entity::find_by_id(key)
                .one(&self.db)
                .await
                .expect("inbox")
                .is_some()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("content did not apply {}", envelope.event_type);
    }

    async fn outbox_types(&self) -> Vec<String> {
        self.outbox().await.into_iter().map(|(t, _)| t).collect()
    }
}

/// The `body` of each edge's node.
fn bodies(edges: &Value) -> Vec<String> {
    edges
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["body"].as_str().expect("body").to_owned())
        .collect()
}

/// The first error's `extensions.code` and `extensions.field`.
fn error_of(response: &Value) -> (String, Option<String>) {
    let extensions = &response["errors"][0]["extensions"];
    (
        extensions["code"].as_str().unwrap_or("no error").to_owned(),
        extensions["field"].as_str().map(str::to_owned),
    )
}

fn code(response: &Value) -> String {
    error_of(response).0
}

#[tokio::test]
async fn a_new_post_belongs_to_its_author_and_takes_its_tags_from_its_hashtags() {
    let app = spawn().await;
    let ada = app.register("ada").await;

    let response = app
        .create_post(
            &ada,
            "  Hello #Rust and #rust, meet #GraphQL (not C# or #42)  ",
        )
        .await;

    let post = &response["data"]["createPost"]["post"];
    assert_eq!(
        post["author"]["id"],
        json!(ada.id.to_string()),
        "{response}"
    );
    assert_eq!(
        post["body"],
        "Hello #Rust and #rust, meet #GraphQL (not C# or #42)"
    );
    assert_eq!(post["tags"], json!(["rust", "graphql"]));
    assert_eq!(post["editedAt"], Value::Null);
    assert_eq!(post["commentCount"], 0);
    let id = post["id"].as_str().expect("id");
    assert_eq!(&app.post(id).await, post);
}

#[tokio::test]
async fn writing_without_a_token_is_unauthenticated_and_writes_nothing() {
    let app = spawn().await;

    let response = app
        .gql(
            None,
            "mutation { createPost(input: { body: \"hi\" }) { post { id } } }",
            json!({}),
        )
        .await;

    assert_eq!(code(&response), "UNAUTHENTICATED");
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_at_fault() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let post = app.post_id(&ada, "a post").await;

    let cases = [
        (app.create_post(&ada, "   ").await, "body"),
        (app.create_post(&ada, &"x".repeat(5_001)).await, "body"),
        (app.edit_post(&ada, &post, "").await, "body"),
        (app.edit_post(&ada, "not-an-id", "fine").await, "postId"),
        (app.delete_post(&ada, "not-an-id").await, "postId"),
        (app.add_comment(&ada, &post, &"x".repeat(2_001)).await, "body"),
        (app.add_comment(&ada, "nope", "fine").await, "postId"),
        (app.delete_comment(&ada, "nope").await, "commentId"),
        (
            app.gql(
                None,
                "{ postsByTag(tag: \"two words\") { edges { cursor } } }",
                json!({}),
            )
            .await,
            "tag",
        ),
        (
            app.gql(
                None,
                "query($id: ID!) { post(id: $id) { comments(first: 101) { edges { cursor } } } }",
                json!({ "id": post }),
            )
            .await,
            "first",
        ),
        (
            app.gql(
                None,
                "query($id: ID!) { post(id: $id) { comments(after: \"bogus\") { edges { cursor } } } }",
                json!({ "id": post }),
            )
            .await,
            "after",
        ),
    ];

    for (response, field) in cases {
        assert_eq!(
            error_of(&response),
            ("BAD_USER_INPUT".to_owned(), Some(field.to_owned())),
            "{response}"
        );
    }
    assert!(
        app.create_post(&ada, &"x".repeat(5_000))
            .await
            .get("errors")
            .is_none()
    );
    assert_eq!(app.post(&post).await["body"], "a post");
}

#[tokio::test]
async fn only_its_author_may_edit_or_delete_a_post_and_a_refusal_changes_nothing() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let post = app.post_id(&ada, "mine #own").await;
    let before = app.post(&post).await;

    assert_eq!(
        code(&app.edit_post(&bob, &post, "yours now").await),
        "FORBIDDEN"
    );
    assert_eq!(code(&app.delete_post(&bob, &post).await), "FORBIDDEN");

    assert_eq!(app.post(&post).await, before);
    assert_eq!(app.tagged("own").await, ["mine #own"]);
    assert_eq!(app.outbox_types().await, ["content.post.created"]);

    let edited = app.edit_post(&ada, &post, "still mine #edited").await;
    let edited = &edited["data"]["editPost"]["post"];
    assert_eq!(edited["body"], "still mine #edited");
    assert_eq!(edited["tags"], json!(["edited"]));
    assert!(edited["editedAt"].is_string(), "{edited}");
    let deleted = app.delete_post(&ada, &post).await;
    assert_eq!(deleted["data"]["deletePost"]["deletedPostId"], json!(post));
    assert_eq!(app.post(&post).await, Value::Null);
}

#[tokio::test]
async fn a_comment_may_be_deleted_by_its_author_or_the_posts_author_and_nobody_else() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let post = app.post_id(&ada, "discuss").await;
    let bobs = app.comment_id(&bob, &post, "bob says").await;
    let cats = app.comment_id(&cat, &post, "cat says").await;

    assert_eq!(code(&app.delete_comment(&cat, &bobs).await), "FORBIDDEN");
    assert_eq!(code(&app.delete_comment(&bob, &cats).await), "FORBIDDEN");
    assert_eq!(
        app.comments(&post, 10, None).await.0,
        ["bob says", "cat says"]
    );

    let own = app.delete_comment(&bob, &bobs).await;
    assert_eq!(
        own["data"]["deleteComment"]["post"]["commentCount"], 1,
        "{own}"
    );
    let by_post_author = app.delete_comment(&ada, &cats).await;
    assert_eq!(
        by_post_author["data"]["deleteComment"]["deletedCommentId"],
        json!(cats)
    );
    assert_eq!(app.post(&post).await["commentCount"], 0);
}

#[tokio::test]
async fn racing_deletions_of_one_post_succeed_once_and_publish_one_event() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let post = app.post_id(&ada, "contested").await;
    let comment = app.comment_id(&bob, &post, "also contested").await;

    let (posts, comments) = tokio::join!(
        all_at_once(4, || app.delete_post(&ada, &post)),
        all_at_once(4, || app.delete_comment(&bob, &comment)),
    );

    let codes: Vec<String> = posts.iter().map(code).collect();
    assert_eq!(
        codes.iter().filter(|c| *c == "no error").count(),
        1,
        "{codes:?}"
    );
    assert!(
        codes.iter().all(|c| c == "no error" || c == "NOT_FOUND"),
        "{codes:?}"
    );
    let codes: Vec<String> = comments.iter().map(code).collect();
    assert!(
        codes.iter().filter(|c| *c == "no error").count() <= 1,
        "{codes:?}"
    );
    assert!(
        codes.iter().all(|c| c == "no error" || c == "NOT_FOUND"),
        "{codes:?}"
    );
    let types = app.outbox_types().await;
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(count("content.post.deleted"), 1);
    assert!(count("content.comment.deleted") <= 1);
}

/// Runs `n` copies of an operation at once.
async fn all_at_once<F, Fut>(n: usize, op: F) -> Vec<Value>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    futures::future::join_all((0..n).map(|_| op())).await
}

#[tokio::test]
async fn acting_on_what_does_not_exist_is_not_found() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let ghost = Uuid::now_v7().to_string();

    assert_eq!(code(&app.edit_post(&ada, &ghost, "x").await), "NOT_FOUND");
    assert_eq!(code(&app.delete_post(&ada, &ghost).await), "NOT_FOUND");
    assert_eq!(code(&app.add_comment(&ada, &ghost, "x").await), "NOT_FOUND");
    assert_eq!(code(&app.delete_comment(&ada, &ghost).await), "NOT_FOUND");
    assert_eq!(app.post(&ghost).await, Value::Null);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn comments_page_oldest_first_and_the_cursors_continue_where_a_page_ended() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let post = app.post_id(&ada, "count with me").await;
    for n in 1..=5 {
        app.comment_id(&bob, &post, &format!("c{n}")).await;
    }

    let (first, cursor, more) = app.comments(&post, 2, None).await;
    assert_eq!(
        (first, more),
        (vec!["c1".to_owned(), "c2".to_owned()], true)
    );
    let (second, cursor, more) = app.comments(&post, 2, cursor.as_deref()).await;
    assert_eq!(
        (second, more),
        (vec!["c3".to_owned(), "c4".to_owned()], true)
    );
    let (last, _, more) = app.comments(&post, 2, cursor.as_deref()).await;
    assert_eq!((last, more), (vec!["c5".to_owned()], false));
    assert_eq!(app.post(&post).await["commentCount"], 5);
}

#[tokio::test]
async fn a_users_posts_and_post_count_resolve_through_the_user_entity() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    for n in 1..=3 {
        app.post_id(&ada, &format!("ada {n}")).await;
    }
    app.post_id(&bob, "bob 1").await;

    let data = app
        .ok(
            None,
            "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id postCount posts(first: 2) { edges { node { body author { id } } } pageInfo { hasNextPage } } } } }",
            json!({ "reps": [
                { "__typename": "User", "id": ada.id },
                { "__typename": "User", "id": bob.id },
                { "__typename": "User", "id": "not-a-uuid" },
            ]}),
        )
        .await;

    let users = &data["_entities"];
    assert_eq!(users[0]["postCount"], 3);
    assert_eq!(bodies(&users[0]["posts"]["edges"]), ["ada 3", "ada 2"]);
    assert_eq!(users[0]["posts"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        users[0]["posts"]["edges"][0]["node"]["author"]["id"],
        json!(ada.id.to_string())
    );
    assert_eq!(users[1]["postCount"], 1);
    assert_eq!(users[1]["posts"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(users[2]["id"], "not-a-uuid");
    assert_eq!(users[2]["postCount"], 0);
}

#[tokio::test]
async fn posts_by_tag_are_newest_first_and_follow_edits_and_deletions() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let older = app.post_id(&ada, "first #Rust").await;
    let newer = app.post_id(&ada, "second #rust #go").await;
    app.post_id(&ada, "third #go").await;

    assert_eq!(
        app.tagged("#RUST").await,
        ["second #rust #go", "first #Rust"]
    );

    app.edit_post(&ada, &older, "first, untagged").await;
    assert_eq!(app.tagged("rust").await, ["second #rust #go"]);
    app.delete_post(&ada, &newer).await;
    assert!(app.tagged("rust").await.is_empty());
    assert_eq!(app.tagged("go").await, ["third #go"]);
}

#[tokio::test]
async fn a_deleted_post_takes_its_comments_with_it_and_resolves_as_null() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let kept = app.post_id(&ada, "kept").await;
    let gone = app.post_id(&ada, "gone").await;
    let comment = app.comment_id(&bob, &gone, "soon orphaned").await;

    app.delete_post(&ada, &gone).await;

    let data = app
        .ok(
            None,
            "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Post { body } ... on Comment { body } } }",
            json!({ "reps": [
                { "__typename": "Post", "id": kept },
                { "__typename": "Post", "id": gone },
                { "__typename": "Comment", "id": comment },
            ]}),
        )
        .await;
    assert_eq!(data["_entities"], json!([{ "body": "kept" }, null, null]));
    assert_eq!(code(&app.delete_comment(&bob, &comment).await), "NOT_FOUND");
}

#[tokio::test]
async fn every_change_enqueues_its_event_and_the_relay_publishes_them_all() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let post = app.post_id(&ada, "hello #world").await;
    let comment = app.comment_id(&bob, &post, "hi ada").await;
    app.delete_comment(&bob, &comment).await;
    app.edit_post(&ada, &post, "hello again").await;
    app.delete_post(&ada, &post).await;

    let events = app.outbox().await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "content.post.created",
            "content.comment.created",
            "content.comment.deleted",
            "content.post.updated",
            "content.post.deleted",
        ]
    );
    let ada_id = json!(ada.id.to_string());
    let bob_id = json!(bob.id.to_string());
    assert_eq!(events[0].1["authorId"], ada_id);
    assert_eq!(events[0].1["tags"], json!(["world"]));
    assert_eq!(events[1].1["postAuthorId"], ada_id);
    assert_eq!(events[1].1["authorId"], bob_id);
    assert_eq!(events[2].1["postAuthorId"], ada_id);
    assert_eq!(events[3].1["tags"], json!([]));
    assert_eq!(events[4].1["id"], json!(post));

    // The relay runs in the service: every row is published and marked sent.
    for _ in 0..250 {
        let rows = outbox::Entity::find().all(&app.db).await.expect("outbox");
        if rows.iter().all(|row| row.sent_at.is_some()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the relay did not publish every event");
}

#[tokio::test]
async fn a_deleted_account_loses_its_posts_the_comments_under_them_and_its_comments_elsewhere() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let adas = app.post_id(&ada, "ada's #farewell").await;
    let bobs = app.post_id(&bob, "bob stays #farewell").await;
    app.comment_id(&bob, &adas, "bob on ada's").await;
    app.comment_id(&ada, &bobs, "ada on bob's").await;
    app.comment_id(&bob, &bobs, "bob on bob's").await;

    let data = json!({ "id": ada.id, "handle": "ada" });
    app.deliver(Envelope::new(
        "identity",
        "identity.user.deleted",
        ada.id,
        &data,
    ))
    .await;

    assert_eq!(app.post(&adas).await, Value::Null);
    assert_eq!(app.tagged("farewell").await, ["bob stays #farewell"]);
    assert_eq!(app.comments(&bobs, 10, None).await.0, ["bob on bob's"]);
    assert_eq!(app.post(&bobs).await["commentCount"], 1);
    let counts = app
        .ok(
            None,
            "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { postCount } } }",
            json!({ "reps": [
                { "__typename": "User", "id": ada.id },
                { "__typename": "User", "id": bob.id },
            ]}),
        )
        .await;
    assert_eq!(
        counts["_entities"],
        json!([{ "postCount": 0 }, { "postCount": 1 }])
    );
}

#[tokio::test]
async fn search_finds_posts_with_every_word_best_match_first_and_forgets_edits_and_deletions() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let dense = app
        .post_id(&ada, "Rust, rust, RUST: #rust all the way")
        .await;
    app.post_id(
        &ada,
        "a long post that mentions rust once among many other words",
    )
    .await;
    let edited = app.post_id(&ada, "rust and graphql").await;
    let deleted = app.post_id(&ada, "rust doomed").await;
    app.post_id(&ada, "nothing relevant here").await;
    let search = |query: &'static str, first: i32, after: Option<String>| {
        let app = &app;
        async move {
            let data = app
                .ok(
                    None,
                    "query($q: String!, $first: Int, $after: String) { searchPosts(query: $q, first: $first, after: $after) { edges { node { id body } } pageInfo { endCursor hasNextPage } } }",
                    json!({ "q": query, "first": first, "after": after }),
                )
                .await;
            let connection = &data["searchPosts"];
            let ids: Vec<String> = connection["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
                .collect();
            let cursor = connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned);
            (ids, cursor, connection["pageInfo"]["hasNextPage"] == true)
        }
    };

    let (all, _, _) = search("rust", 10, None).await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(all[0], dense, "the post saying rust four times ranks first");
    assert_eq!(
        search("GraphQL  rust!", 10, None).await.0,
        vec![edited.clone()]
    );

    let (page, cursor, more) = search("rust", 3, None).await;
    assert_eq!((page.as_slice(), more), (&all[..3], true));
    let (rest, _, more) = search("rust", 3, cursor).await;
    assert_eq!((rest.as_slice(), more), (&all[3..], false));

    app.edit_post(&ada, &edited, "now about go").await;
    app.delete_post(&ada, &deleted).await;
    let (after, _, _) = search("rust", 10, None).await;
    assert_eq!(after.len(), 2);
    assert!(!after.contains(&edited) && !after.contains(&deleted));
    assert_eq!(search("go", 10, None).await.0, [edited]);

    let refused = app
        .gql(
            None,
            "{ searchPosts(query: \"*:-\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_of(&refused),
        ("BAD_USER_INPUT".to_owned(), Some("query".to_owned()))
    );
}

#[test]
fn the_committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let sdl = agora_content::schema::sdl();
    if std::env::var_os("AGORA_BLESS").is_some() {
        std::fs::write(path, &sdl).expect("schema.graphql written");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema.graphql is stale; run with AGORA_BLESS=1 (or `agora compose`) to update it"
    );
}

/// Counts the SQL statements content's schema runs for one operation, for the batching
/// proof.
struct Counted {
    schema: agora_content::schema::ContentSchema,
    content: Arc<agora_content::content::Content>,
    statements: Arc<std::sync::atomic::AtomicUsize>,
    _env: TestEnv,
}

async fn counted() -> Counted {
    let mut env = TestEnv::new();
    let url = env.database_url("content").await;
    let mut db = agora_kit::db::connect::<agora_content_migration::Migrator>(&url)
        .await
        .expect("database");
    let statements = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let content = Arc::new(agora_content::content::Content {
        db,
        outbox: Arc::new(tokio::sync::Notify::new()),
    });
    Counted {
        schema: agora_content::schema::build(content.clone()),
        content,
        statements,
        _env: env,
    }
}

impl Counted {
    /// How many statements `query` takes: the fewest of a few runs. A DataLoader gathers
    /// keys for a short window, so a starved CPU can split one batch in two; the fewest is
    /// what the batching itself costs.
    async fn statements_for(&self, query: &str, variables: Value) -> usize {
        let mut fewest = usize::MAX;
        for _ in 0..5 {
            let request = async_graphql::Request::new(query)
                .variables(async_graphql::Variables::from_json(variables.clone()));
            self.statements
                .store(0, std::sync::atomic::Ordering::SeqCst);
            let response = self.schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            fewest = fewest.min(self.statements.load(std::sync::atomic::Ordering::SeqCst));
        }
        fewest
    }
}

#[tokio::test]
async fn a_page_of_fifty_posts_costs_as_many_statements_as_a_page_of_five() {
    let app = counted().await;
    let (author, reader) = (Uuid::now_v7(), Uuid::now_v7());
    for n in 0..60 {
        let post = app
            .content
            .create_post(author, &format!("post {n} #bulk"))
            .await
            .expect("post");
        for m in 0..4 {
            app.content
                .add_comment(reader, post.id, &format!("comment {m}"))
                .await
                .expect("comment");
        }
    }
    let fields = "edges { node { id body tags author { id postCount } commentCount
        comments(first: 3) { edges { node { body author { id } post { id commentCount } } } } } }";
    let by_user = |first: usize| {
        format!(
            "query($reps: [_Any!]!) {{ _entities(representations: $reps) {{
                ... on User {{ postCount posts(first: {first}) {{ {fields} }} }} }} }}"
        )
    };
    let by_tag =
        |first: usize| format!("{{ postsByTag(tag: \"bulk\", first: {first}) {{ {fields} }} }}");
    let reps = json!({ "reps": [{ "__typename": "User", "id": author }] });

    let five = app.statements_for(&by_user(5), reps.clone()).await;
    let fifty = app.statements_for(&by_user(50), reps).await;
    assert!(five > 0, "statements are counted");
    assert_eq!(five, fifty);

    let five = app.statements_for(&by_tag(5), json!({})).await;
    let fifty = app.statements_for(&by_tag(50), json!({})).await;
    assert_eq!(five, fifty);
}
