//! Content over real HTTP: posts, comments, hashtags and their events, with tokens from a
//! real identity subgraph on the test's own bus.
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`), each test on a namespace and databases of its own.

use std::sync::Arc;
use std::time::Duration;

use agora_kit::auth::Viewer;
use agora_kit::events::Envelope;
use agora_kit::events::tables::outbox;
use agora_kit::testing::{Graphql, Member, Stack, StatementCounter, TestEnv, error_of};
use agora_kit::{privacy, restriction};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

/// One test's identity and content subgraphs and content's database.
struct App {
    /// Content's GraphQL endpoint.
    content: Graphql,
    /// Content's own database, read directly to check the outbox and the inbox.
    db: DatabaseConnection,
    /// Identity and content on the test's bus, on which the test plays identity.
    stack: Stack,
}

async fn spawn() -> App {
    let mut stack = Stack::new().await;
    stack.start("identity", agora_identity::build).await;
    let content = stack.start("content", agora_content::build).await;
    let db = stack
        .connect::<agora_content_migration::Migrator>("content")
        .await;
    App { content, db, stack }
}

const POST_FIELDS: &str = "id author { id } body tags createdAt editedAt commentCount";

impl App {
    async fn create_post(&self, author: &Member, body: &str) -> Value {
        self.content.gql(
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
        self.content.gql(
            Some(member),
            "mutation($id: ID!, $body: String!) { editPost(input: { postId: $id, body: $body }) { post { id body tags editedAt } } }",
            json!({ "id": id, "body": body }),
        )
        .await
    }

    async fn delete_post(&self, member: &Member, id: &str) -> Value {
        self.content
            .gql(
                Some(member),
                "mutation($id: ID!) { deletePost(input: { postId: $id }) { deletedPostId } }",
                json!({ "id": id }),
            )
            .await
    }

    async fn add_comment(&self, member: &Member, post: &str, body: &str) -> Value {
        self.content.gql(
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
        self.content.gql(
            Some(member),
            "mutation($id: ID!) { deleteComment(input: { commentId: $id }) { deletedCommentId post { id commentCount } } }",
            json!({ "id": id }),
        )
        .await
    }

    /// `Query.post`, null when there is none.
    async fn post(&self, id: &str) -> Value {
        self.content
            .ok(
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
            .content.ok(
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
            .content
            .ok(
                None,
                "query($tag: String!) { postsByTag(tag: $tag) { edges { node { body } } } }",
                json!({ "tag": tag }),
            )
            .await;
        bodies(&data["postsByTag"]["edges"])
    }

    /// Plays social's `user.blocked` (or `unblocked`) and waits until content applied it.
    async fn block(&self, verb: &str, who: &Member, whom: &Member) {
        let data = json!({ "userId": who.id, "targetId": whom.id, "at": "2026-01-01T00:00:00Z" });
        let event = Envelope::new("social", &format!("social.user.{verb}"), who.id, &data);
        self.deliver(event).await;
    }

    /// Plays profiles' `profile.privacy_changed`: `user` became private (or public) at
    /// `at`; waits until content applied it.
    async fn set_private_at(&self, user: &Member, private: bool, at: DateTime<Utc>) {
        let data = json!({ "userId": user.id, "isPrivate": private, "changedAt": at });
        let event = Envelope::new("profiles", privacy::PRIVACY_CHANGED, user.id, &data);
        self.deliver(event).await;
    }

    /// Plays social's `user.followed` (or `unfollowed`): `who` follows `whom`; waits until
    /// content applied it.
    async fn follow(&self, verb: &str, who: &Member, whom: &Member) {
        let data = json!({ "followerId": who.id, "followeeId": whom.id, "followedAt": Utc::now() });
        let event = Envelope::new("social", &format!("social.user.{verb}"), whom.id, &data);
        self.deliver(event).await;
    }

    /// The `Post` and `Comment` entities `viewer` gets for a post and a comment: the
    /// body of each, null for one that is hidden or gone.
    async fn entities(&self, viewer: Option<&Member>, post: &str, comment: &str) -> Value {
        let data = self
            .content
            .ok(
                viewer,
                "query($reps: [_Any!]!) { _entities(representations: $reps) {
                    ... on Post { body } ... on Comment { body }
                } }",
                json!({ "reps": [
                    { "__typename": "Post", "id": post },
                    { "__typename": "Comment", "id": comment },
                ]}),
            )
            .await;
        json!([data["_entities"][0]["body"], data["_entities"][1]["body"]])
    }

    /// What `viewer` sees of `post` (by id, with its comments), of `author`'s posts, of
    /// the posts tagged `tag` and of those found by `query`.
    async fn seen_by(
        &self,
        viewer: &Member,
        post: &str,
        author: &Member,
        tag: &str,
        query: &str,
    ) -> Value {
        let data = self
            .content
            .ok(
                Some(viewer),
                "query($post: ID!, $reps: [_Any!]!, $tag: String!, $q: String!) {
                    post(id: $post) { body comments { edges { node { body } } } }
                    _entities(representations: $reps) {
                        ... on User { postCount posts { edges { node { body } } } }
                    }
                    postsByTag(tag: $tag) { edges { node { body } } }
                    searchPosts(query: $q) { edges { node { body } } }
                }",
                json!({
                    "post": post,
                    "reps": [{ "__typename": "User", "id": author.id }],
                    "tag": tag,
                    "q": query,
                }),
            )
            .await;
        json!({
            "post": data["post"]["body"],
            "comments": data["post"]["comments"]["edges"]
                .as_array()
                .map(|_| bodies(&data["post"]["comments"]["edges"])),
            "postCount": data["_entities"][0]["postCount"],
            "posts": bodies(&data["_entities"][0]["posts"]["edges"]),
            "tagged": bodies(&data["postsByTag"]["edges"]),
            "found": bodies(&data["searchPosts"]["edges"]),
        })
    }

    /// The outbox rows content wrote, as (type, payload), oldest first.
    async fn outbox(&self) -> Vec<(String, Value)> {
        agora_kit::testing::outbox(&self.db).await
    }

    /// Publishes an event as identity and waits until content applied it.
    async fn deliver(&self, envelope: Envelope) {
        self.stack.deliver(&self.db, "content", envelope).await;
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

fn code(response: &Value) -> String {
    error_of(response).0
}

#[tokio::test]
async fn a_new_post_belongs_to_its_author_and_takes_its_tags_from_its_hashtags() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;

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
        .content
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
    let ada = app.stack.register("ada").await;
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
            app.content.gql(
                None,
                "{ postsByTag(tag: \"two words\") { edges { cursor } } }",
                json!({}),
            )
            .await,
            "tag",
        ),
        (
            app.content.gql(
                None,
                "query($id: ID!) { post(id: $id) { comments(first: 101) { edges { cursor } } } }",
                json!({ "id": post }),
            )
            .await,
            "first",
        ),
        (
            app.content.gql(
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let cat = app.stack.register("cat").await;
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
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
    let ada = app.stack.register("ada").await;
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    for n in 1..=3 {
        app.post_id(&ada, &format!("ada {n}")).await;
    }
    app.post_id(&bob, "bob 1").await;

    let data = app
        .content.ok(
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
    let ada = app.stack.register("ada").await;
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let kept = app.post_id(&ada, "kept").await;
    let gone = app.post_id(&ada, "gone").await;
    let comment = app.comment_id(&bob, &gone, "soon orphaned").await;

    app.delete_post(&ada, &gone).await;

    let data = app
        .content.ok(
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
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
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
async fn a_deleted_account_loses_its_posts_its_comments_everywhere_and_its_blocks() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let adas = app.post_id(&ada, "ada's #farewell").await;
    let bobs = app.post_id(&bob, "bob stays #farewell").await;
    app.comment_id(&bob, &adas, "bob on ada's").await;
    app.comment_id(&ada, &bobs, "ada on bob's").await;
    app.comment_id(&bob, &bobs, "bob on bob's").await;

    app.block("blocked", &bob, &ada).await;
    app.set_private_at(&ada, true, Utc::now()).await;
    app.follow("followed", &ada, &bob).await;

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
    let blocks = restriction::Entity::find()
        .all(&app.db)
        .await
        .expect("blocks");
    assert!(
        blocks.is_empty(),
        "the erased account's blocks are forgotten: {blocks:?}"
    );
    let private = privacy::account::Entity::find().all(&app.db).await;
    let follows = privacy::follower::Entity::find().all(&app.db).await;
    assert_eq!(
        (
            private.expect("privacy").len(),
            follows.expect("follows").len()
        ),
        (0, 0),
        "the erased account's privacy and follows are forgotten"
    );
    assert_eq!(app.comments(&bobs, 10, None).await.0, ["bob on bob's"]);
    assert_eq!(app.post(&bobs).await["commentCount"], 1);
    let counts = app
        .content.ok(
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
    let confirmed: Vec<(String, Value)> = agora_kit::testing::outbox(&app.db)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "content.user.erased")
        .collect();
    assert_eq!(
        confirmed,
        [(
            "content.user.erased".to_owned(),
            json!({ "userId": ada.id })
        )]
    );
}

#[tokio::test]
async fn a_block_either_way_hides_each_sides_posts_and_comments_and_refuses_comments() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let carol = app.stack.register("carol").await;
    let adas = app.post_id(&ada, "ada writes #words").await;
    let bobs = app.post_id(&bob, "bob writes #words").await;
    let carols = app.post_id(&carol, "carol writes #words").await;
    for (member, body) in [(&ada, "ada replies"), (&bob, "bob replies")] {
        app.comment_id(member, &carols, body).await;
    }
    let before = app.seen_by(&bob, &adas, &ada, "words", "writes").await;
    assert_eq!(before["post"], "ada writes #words", "{before}");

    app.block("blocked", &ada, &bob).await;

    for (viewer, other, own, others) in [(&bob, &ada, "bob", &adas), (&ada, &bob, "ada", &bobs)] {
        let seen = app.seen_by(viewer, others, other, "words", "writes").await;
        assert_eq!(
            seen,
            json!({
                "post": null, "comments": null, "postCount": 0, "posts": [],
                "tagged": ["carol writes #words", format!("{own} writes #words")],
                "found": ["carol writes #words", format!("{own} writes #words")],
            }),
            "{own} sees nothing of the other"
        );
        let under_carols = app.seen_by(viewer, &carols, other, "none", "none").await;
        assert_eq!(
            under_carols["comments"],
            json!([format!("{own} replies")]),
            "the other's comment is left out"
        );
        let refused = app.add_comment(viewer, others, "hello?").await;
        let missing = app
            .add_comment(viewer, &Uuid::now_v7().to_string(), "hello?")
            .await;
        assert_eq!(code(&refused), "NOT_FOUND", "{refused}");
        assert_eq!(
            refused["errors"][0]["message"],
            missing["errors"][0]["message"]
        );
    }
    // Nobody else is affected; the count of comments stays everyone's.
    let carol_sees = app.seen_by(&carol, &carols, &ada, "words", "writes").await;
    assert_eq!(
        carol_sees["comments"],
        json!(["ada replies", "bob replies"])
    );
    assert_eq!(carol_sees["tagged"].as_array().map(Vec::len), Some(3));
    assert_eq!(app.post(&carols).await["commentCount"], 2);
    let signed_out = app.tagged("words").await;
    assert_eq!(signed_out.len(), 3, "{signed_out:?}");

    app.block("unblocked", &ada, &bob).await;

    let after = app.seen_by(&bob, &adas, &ada, "words", "writes").await;
    assert_eq!(after["post"], "ada writes #words", "{after}");
    assert_eq!(after["posts"], json!(["ada writes #words"]));
    assert_eq!(after["tagged"].as_array().map(Vec::len), Some(3));
    assert_eq!(after["found"].as_array().map(Vec::len), Some(3));
    app.comment_id(&bob, &adas, "bob is back").await;
}

#[tokio::test]
async fn a_private_accounts_posts_and_comments_are_for_itself_and_its_followers_only() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let carol = app.stack.register("carol").await;
    let adas = app.post_id(&ada, "ada writes #words").await;
    let carols = app.post_id(&carol, "carol writes #words").await;
    let reply = app.comment_id(&ada, &carols, "ada replies").await;
    app.comment_id(&carol, &carols, "carol replies").await;

    app.set_private_at(&ada, true, Utc::now()).await;
    app.follow("followed", &bob, &ada).await;

    let everything = json!({
        "post": "ada writes #words", "comments": [], "postCount": 1,
        "posts": ["ada writes #words"],
        "tagged": ["carol writes #words", "ada writes #words"],
        "found": ["carol writes #words", "ada writes #words"],
    });
    let nothing = json!({
        "post": null, "comments": null, "postCount": 1, "posts": [],
        "tagged": ["carol writes #words"], "found": ["carol writes #words"],
    });
    let all_replies = json!(["ada replies", "carol replies"]);
    for (name, viewer, seen, replies) in [
        ("ada", &ada, &everything, &all_replies),
        ("bob", &bob, &everything, &all_replies),
        ("carol", &carol, &nothing, &json!(["carol replies"])),
    ] {
        let shown = app.seen_by(viewer, &adas, &ada, "words", "writes").await;
        assert_eq!(&shown, seen, "as {name}");
        let under_carols = app.seen_by(viewer, &carols, &ada, "none", "none").await;
        assert_eq!(&under_carols["comments"], replies, "as {name}");
    }
    // Signed out, nothing of hers either; resolved as entities for another subgraph,
    // her post and her comment are null to anyone who does not follow her.
    assert_eq!(app.post(&adas).await, Value::Null);
    assert_eq!(app.tagged("words").await, ["carol writes #words"]);
    let hidden = json!([null, null]);
    assert_eq!(app.entities(Some(&carol), &adas, &reply).await, hidden);
    assert_eq!(app.entities(None, &adas, &reply).await, hidden);
    assert_eq!(
        app.entities(Some(&bob), &adas, &reply).await,
        json!(["ada writes #words", "ada replies"])
    );
    // Commenting on a post one may not see is refused as for a post that does not exist.
    let refused = app.add_comment(&carol, &adas, "hello?").await;
    let missing = app
        .add_comment(&carol, &Uuid::now_v7().to_string(), "hello?")
        .await;
    assert_eq!(code(&refused), "NOT_FOUND", "{refused}");
    assert_eq!(
        refused["errors"][0]["message"],
        missing["errors"][0]["message"]
    );
    app.comment_id(&bob, &adas, "bob, a follower, replies")
        .await;

    // An unfollow, and a block (which ends follows without an unfollow), take it away.
    app.follow("unfollowed", &bob, &ada).await;
    let gone = app.seen_by(&bob, &adas, &ada, "words", "writes").await;
    assert_eq!(gone, nothing, "after the unfollow");
    app.follow("followed", &bob, &ada).await;
    app.block("blocked", &ada, &bob).await;
    app.block("unblocked", &ada, &bob).await;
    let gone = app.seen_by(&bob, &adas, &ada, "words", "writes").await;
    assert_eq!(gone, nothing, "the block ended the follow");

    // Made public, she is everyone's again.
    app.set_private_at(&ada, false, Utc::now()).await;
    let shown = app.seen_by(&carol, &adas, &ada, "words", "writes").await;
    assert_eq!(shown["post"], "ada writes #words", "{shown}");
    assert_eq!(shown["tagged"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.tagged("words").await.len(), 2);
}

#[tokio::test]
async fn one_batch_of_checks_answers_each_viewer_for_themselves() {
    use privacy::PrivacyKey;
    use restriction::BlockKey;

    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let bob = app.stack.register("bob").await;
    let carol = app.stack.register("carol").await;
    let dan = app.stack.register("dan").await;
    app.set_private_at(&ada, true, Utc::now()).await;
    app.follow("followed", &bob, &ada).await;
    app.block("blocked", &carol, &dan).await;

    let privacy_keys = [
        (Some(ada.id), ada.id),
        (Some(bob.id), ada.id),
        (Some(carol.id), ada.id),
        (None, ada.id),
        (Some(dan.id), bob.id),
    ]
    .map(|(viewer, author)| PrivacyKey { viewer, author });
    let hidden = privacy::hidden_pairs(&app.db, &privacy_keys)
        .await
        .expect("privacy");
    let expected = [(Some(carol.id), ada.id), (None, ada.id)]
        .map(|(viewer, author)| PrivacyKey { viewer, author });
    assert_eq!(hidden, expected.into_iter().collect());

    let block_keys = [
        (dan.id, carol.id),
        (carol.id, dan.id),
        (bob.id, carol.id),
        (dan.id, bob.id),
    ]
    .map(|(viewer, user)| BlockKey { viewer, user });
    let blocked = restriction::blocked_pairs(&app.db, &block_keys)
        .await
        .expect("blocks");
    assert_eq!(blocked, block_keys[..2].iter().copied().collect());
}

#[tokio::test]
async fn the_newest_privacy_change_wins_whatever_order_the_changes_arrive_in() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let carol = app.stack.register("carol").await;
    let adas = app.post_id(&ada, "ada writes").await;
    let (earlier, later) = (Utc::now() - chrono::Duration::minutes(1), Utc::now());

    // Made private, then public a minute earlier, arriving late: she stays private.
    app.set_private_at(&ada, true, later).await;
    app.set_private_at(&ada, false, earlier).await;
    assert_eq!(app.post(&adas).await, Value::Null);
    let seen = app.seen_by(&carol, &adas, &ada, "none", "writes").await;
    assert_eq!(seen["found"], json!([]), "{seen}");

    // The same change again changes nothing; a newer one is in force.
    app.set_private_at(&ada, true, later).await;
    assert_eq!(app.post(&adas).await, Value::Null);
    app.set_private_at(&ada, false, later + chrono::Duration::seconds(1))
        .await;
    assert_eq!(app.post(&adas).await["body"], "ada writes");

    let (bob, dan) = (Uuid::now_v7(), Uuid::now_v7());
    let at = Utc::now();
    assert!(
        privacy::account::set(&app.db, bob, true, at)
            .await
            .expect("set")
    );
    assert!(
        !privacy::account::set(&app.db, bob, false, at - chrono::Duration::seconds(1))
            .await
            .expect("set"),
        "an older change is not in force"
    );
    assert!(
        privacy::account::is_private(&app.db, bob)
            .await
            .expect("read")
    );
    assert!(
        !privacy::account::is_private(&app.db, dan)
            .await
            .expect("read")
    );
}

#[tokio::test]
async fn search_finds_posts_with_every_word_best_match_first_and_forgets_edits_and_deletions() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
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
                .content.ok(
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
        .content
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
    agora_kit::testing::assert_committed_schema(path, &agora_content::schema::sdl());
}

/// Content's schema over a database whose statements are counted, for the batching proof.
struct Counted {
    schema: agora_content::schema::ContentSchema,
    content: Arc<agora_content::content::Content>,
    statements: StatementCounter,
    _env: TestEnv,
}

async fn counted() -> Counted {
    let mut env = TestEnv::new();
    let url = env.database_url("content").await;
    let mut db = agora_kit::db::connect::<agora_content_migration::Migrator>(&url)
        .await
        .expect("database");
    let statements = StatementCounter::attach(&mut db);
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
    /// How many statements `query` takes as `viewer` (the fewest of a few runs).
    async fn statements_for(&self, viewer: Option<Uuid>, query: &str, variables: Value) -> usize {
        self.statements
            .fewest(|| async {
                let mut request = async_graphql::Request::new(query)
                    .variables(async_graphql::Variables::from_json(variables.clone()));
                if let Some(user_id) = viewer {
                    request = request.data(Viewer {
                        user_id,
                        session_id: Uuid::now_v7(),
                    });
                }
                let response = self.schema.execute(request).await;
                assert!(response.errors.is_empty(), "{:?}", response.errors);
            })
            .await
    }
}

#[tokio::test]
async fn a_page_of_fifty_posts_costs_as_many_statements_as_a_page_of_five() {
    let app = counted().await;
    let (author, reader) = (Uuid::now_v7(), Uuid::now_v7());
    for n in 0..60 {
        let post = app
            .content
            .create_post(author, &format!("post {n} #bulk"), &[])
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

    // Signed out, and as a viewer whose block hides every comment (each page's checks
    // are one read of the block replica and one of the privacy replica); the reader is
    // private, so privacy hides every comment from the signed-out viewer.
    let viewer = Uuid::now_v7();
    restriction::insert(&app.content.db, restriction::BLOCK, viewer, reader)
        .await
        .expect("block");
    privacy::account::set(&app.content.db, reader, true, Utc::now())
        .await
        .expect("private");
    for viewer in [None, Some(viewer)] {
        let five = app.statements_for(viewer, &by_user(5), reps.clone()).await;
        let fifty = app.statements_for(viewer, &by_user(50), reps.clone()).await;
        assert!(five > 0, "statements are counted");
        assert_eq!(five, fifty, "as {viewer:?}");

        let five = app.statements_for(viewer, &by_tag(5), json!({})).await;
        let fifty = app.statements_for(viewer, &by_tag(50), json!({})).await;
        assert_eq!(five, fifty, "as {viewer:?}");
    }
}
