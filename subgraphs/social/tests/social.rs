//! Social over real HTTP: follows, likes, saves and home feeds, with tokens from a real
//! identity subgraph and content's events published on the test's own bus.
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`), each test on a namespace and databases of its own.

use std::sync::Arc;

use agora_kit::events::Envelope;
use agora_kit::testing::{Graphql, Member, Stack, StatementCounter, TestEnv, error_of, outbox};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use uuid::Uuid;

/// One test's identity and social subgraphs, the bus between them, and social's database.
struct App {
    /// Social's GraphQL endpoint.
    social: Graphql,
    /// Social's own database, read directly to check the outbox and the inbox.
    db: DatabaseConnection,
    /// Identity and social on the test's bus, on which the test plays content.
    stack: Stack,
}

async fn spawn() -> App {
    let mut stack = Stack::new().await;
    stack
        .bus()
        .ensure_stream("content")
        .await
        .expect("content stream");
    stack.start("identity", agora_identity::build).await;
    let social = stack.start("social", agora_social::build).await;
    let db = stack
        .connect::<agora_social_migration::Migrator>("social")
        .await;
    App { social, db, stack }
}

impl App {
    /// Plays content: publishes `content.post.created` and waits until social applied it.
    async fn publish_post_at(&self, author: &Member, created_at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        let data = json!({
            "id": id,
            "authorId": author.id,
            "createdAt": created_at,
            "body": "fields social does not read are ignored",
        });
        self.deliver(Envelope::new("content", "content.post.created", id, &data))
            .await;
        id
    }

    async fn publish_post(&self, author: &Member) -> Uuid {
        self.publish_post_at(author, Utc::now()).await
    }

    /// Plays content: publishes `content.post.deleted` and waits until social applied it.
    async fn delete_post(&self, author: &Member, post: Uuid) {
        let data = json!({ "id": post, "authorId": author.id });
        self.deliver(Envelope::new(
            "content",
            "content.post.deleted",
            post,
            &data,
        ))
        .await;
    }

    /// Plays profiles: `user` became private (or public) at `at`; waits until social
    /// applied it.
    async fn set_private_at(&self, user: &Member, private: bool, at: DateTime<Utc>) {
        let data = json!({ "userId": user.id, "isPrivate": private, "changedAt": at });
        self.deliver(Envelope::new(
            "profiles",
            "profiles.profile.privacy_changed",
            user.id,
            &data,
        ))
        .await;
    }

    async fn set_private(&self, user: &Member, private: bool) {
        self.set_private_at(user, private, Utc::now()).await;
    }

    /// Follows, returning the payload's `requested` and the user's fields as the viewer
    /// sees them after it.
    async fn follow_request(&self, who: &Member, whom: &Member) -> Value {
        self.social
            .ok(
                Some(who),
                "mutation($id: ID!) { follow(input: { userId: $id }) {
                requested user { followerCount viewerIsFollowing viewerHasRequestedToFollow }
            } }",
                json!({ "id": whom.id }),
            )
            .await["follow"]
            .clone()
    }

    /// Accepts or declines (`verb`) `requester`'s request as `owner`.
    async fn answer(&self, verb: &str, owner: &Member, requester: &Member) -> Value {
        self.social
            .gql(
                Some(owner),
                &format!(
                    "mutation($id: ID!) {{ {verb}FollowRequest(input: {{ userId: $id }}) {{
                        user {{ id }}
                    }} }}"
                ),
                json!({ "id": requester.id }),
            )
            .await
    }

    /// The ids of `owner`'s pending follow requests, as `viewer` asks for them.
    async fn requests(&self, viewer: &Member, owner: &Member) -> Value {
        self.social
            .gql(
                Some(viewer),
                "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User {
                    followRequests(first: 10) { totalCount nodes { id } }
                } } }",
                json!({ "reps": [{ "__typename": "User", "id": owner.id }] }),
            )
            .await
    }

    async fn block(&self, who: &Member, whom: &Member) {
        self.social
            .ok(
                Some(who),
                "mutation($id: ID!) { blockUser(input: { userId: $id }) { user { id } } }",
                json!({ "id": whom.id }),
            )
            .await;
    }

    /// Publishes an event as content or identity and waits until social applied it.
    async fn deliver(&self, envelope: Envelope) {
        self.stack.deliver(&self.db, "social", envelope).await;
    }

    async fn follow(&self, who: &Member, whom: &Member) -> Value {
        self.social.gql(
            Some(who),
            "mutation($id: ID!) { follow(input: { userId: $id }) { user { id followerCount viewerIsFollowing } } }",
            json!({ "id": whom.id }),
        )
        .await
    }

    async fn unfollow(&self, who: &Member, whom: &Member) -> Value {
        self.social.gql(
            Some(who),
            "mutation($id: ID!) { unfollow(input: { userId: $id }) { user { id followerCount viewerIsFollowing } } }",
            json!({ "id": whom.id }),
        )
        .await
    }

    async fn like(&self, who: &Member, post: Uuid) -> Value {
        self.social.gql(
            Some(who),
            "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id likeCount viewerHasLiked } } }",
            json!({ "id": post }),
        )
        .await
    }

    async fn unlike(&self, who: &Member, post: Uuid) -> Value {
        self.social.gql(
            Some(who),
            "mutation($id: ID!) { unlikePost(input: { postId: $id }) { post { id likeCount viewerHasLiked } } }",
            json!({ "id": post }),
        )
        .await
    }

    /// A user's social fields, resolved the way the router asks for them.
    async fn user(&self, viewer: Option<&Member>, id: Uuid) -> Value {
        let data = self
            .social
            .ok(
                viewer,
                "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User {
                    id followerCount followingCount viewerIsFollowing
                    followers(first: 10) { totalCount nodes { id } }
                    following(first: 10) { nodes { id } }
                } } }",
                json!({ "reps": [{ "__typename": "User", "id": id }] }),
            )
            .await;
        data["_entities"][0].clone()
    }

    /// A post's like fields, resolved the way the router asks for them.
    async fn post_likes(&self, viewer: Option<&Member>, id: Uuid) -> Value {
        let data = self
            .social
            .ok(
                viewer,
                "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Post {
                    id likeCount viewerHasLiked likedBy(first: 10) { nodes { id } }
                } } }",
                json!({ "reps": [{ "__typename": "Post", "id": id }] }),
            )
            .await;
        data["_entities"][0].clone()
    }

    /// The ids on one page of the viewer's feed.
    async fn feed(&self, viewer: &Member, first: i32) -> Vec<Uuid> {
        let data = self
            .social
            .ok(
                Some(viewer),
                "query($first: Int) { feed(first: $first) { edges { node { id } } } }",
                json!({ "first": first }),
            )
            .await;
        ids(&data["feed"]["edges"], "/node/id")
    }
}

/// The UUIDs at `pointer` in each element of a JSON array.
fn ids(list: &Value, pointer: &str) -> Vec<Uuid> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| {
            item.pointer(pointer)
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok())
                .expect("an id")
        })
        .collect()
}

fn minutes_ago(minutes: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::minutes(minutes)
}

#[tokio::test]
async fn following_twice_keeps_one_follow_and_unfollowing_twice_leaves_none() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );

    let first = app.follow(&ada, &bob).await;
    let again = app.follow(&ada, &bob).await;

    for response in [&first, &again] {
        let user = &response["data"]["follow"]["user"];
        assert_eq!(user["followerCount"], 1, "{response}");
        assert_eq!(user["viewerIsFollowing"], true);
    }
    let bob_seen = app.user(Some(&ada), bob.id).await;
    assert_eq!(ids(&bob_seen["followers"]["nodes"], "/id"), vec![ada.id]);
    assert_eq!(bob_seen["followers"]["totalCount"], 1);
    let ada_seen = app.user(None, ada.id).await;
    assert_eq!(ada_seen["followingCount"], 1);
    assert_eq!(ids(&ada_seen["following"]["nodes"], "/id"), vec![bob.id]);

    app.unfollow(&ada, &bob).await;
    let again = app.unfollow(&ada, &bob).await;

    let user = &again["data"]["unfollow"]["user"];
    assert_eq!(user["followerCount"], 0, "{again}");
    assert_eq!(user["viewerIsFollowing"], false);
    assert_eq!(app.user(None, ada.id).await["followingCount"], 0);
}

#[tokio::test]
async fn a_user_cannot_follow_or_unfollow_themselves() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;

    let follow = app.follow(&ada, &ada).await;
    let unfollow = app.unfollow(&ada, &ada).await;

    for response in [&follow, &unfollow] {
        assert_eq!(
            error_of(response),
            ("BAD_USER_INPUT".to_owned(), Some("userId".to_owned()))
        );
    }
    let ada_seen = app.user(Some(&ada), ada.id).await;
    assert_eq!(
        (&ada_seen["followerCount"], &ada_seen["followingCount"]),
        (&json!(0), &json!(0))
    );
}

#[tokio::test]
async fn likes_count_once_per_user_and_unliking_takes_them_back() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    let post = app.publish_post(&bob).await;

    app.like(&ada, post).await;
    let twice = app.like(&ada, post).await;
    app.like(&bob, post).await;

    assert_eq!(twice["data"]["likePost"]["post"]["likeCount"], 1, "{twice}");
    let seen = app.post_likes(Some(&ada), post).await;
    assert_eq!(seen["likeCount"], 2);
    assert_eq!(seen["viewerHasLiked"], true);
    assert_eq!(ids(&seen["likedBy"]["nodes"], "/id"), vec![bob.id, ada.id]);
    assert_eq!(app.post_likes(None, post).await["viewerHasLiked"], false);

    app.unlike(&ada, post).await;
    let twice = app.unlike(&ada, post).await;

    let after = &twice["data"]["unlikePost"]["post"];
    assert_eq!(after["likeCount"], 1, "{twice}");
    assert_eq!(after["viewerHasLiked"], false);
    let seen = app.post_likes(Some(&bob), post).await;
    assert_eq!(ids(&seen["likedBy"]["nodes"], "/id"), vec![bob.id]);
    assert_eq!(seen["viewerHasLiked"], true);
}

#[tokio::test]
async fn liking_or_saving_an_unknown_or_deleted_post_is_not_found() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    let deleted = app.publish_post(&bob).await;
    app.delete_post(&bob, deleted).await;

    for post in [Uuid::now_v7(), deleted] {
        assert_eq!(error_of(&app.like(&ada, post).await).0, "NOT_FOUND");
        let save = app
            .social
            .gql(
                Some(&ada),
                "mutation($id: ID!) { savePost(input: { postId: $id }) { post { id } } }",
                json!({ "id": post }),
            )
            .await;
        assert_eq!(error_of(&save).0, "NOT_FOUND");
    }
    let malformed = app
        .social
        .gql(
            Some(&ada),
            "mutation { likePost(input: { postId: \"nope\" }) { post { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_of(&malformed),
        ("BAD_USER_INPUT".to_owned(), Some("postId".to_owned()))
    );
    assert_eq!(app.post_likes(None, deleted).await["likeCount"], 0);
}

#[tokio::test]
async fn a_new_post_reaches_the_feeds_of_its_author_and_followers_newest_first() {
    let app = spawn().await;
    let (ada, bob, cy) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
        app.stack.register("cyd").await,
    );
    app.follow(&ada, &bob).await;

    let older = app.publish_post_at(&bob, minutes_ago(2)).await;
    let newer = app.publish_post_at(&bob, minutes_ago(1)).await;

    assert_eq!(app.feed(&ada, 10).await, vec![newer, older]);
    assert_eq!(app.feed(&bob, 10).await, vec![newer, older]);
    assert_eq!(app.feed(&cy, 10).await, Vec::<Uuid>::new());
}

#[tokio::test]
async fn following_back_fills_recent_posts_and_unfollowing_removes_them() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    let own = app.publish_post_at(&ada, minutes_ago(100)).await;
    let mut bobs = Vec::new();
    for minutes in (1..=25).rev() {
        bobs.push(app.publish_post_at(&bob, minutes_ago(minutes)).await);
    }

    app.follow(&ada, &bob).await;

    let feed = app.feed(&ada, 100).await;
    let newest_twenty: Vec<Uuid> = bobs.iter().rev().take(20).copied().collect();
    assert_eq!(feed[..20], newest_twenty[..]);
    assert_eq!(feed[20..], [own]);

    app.unfollow(&ada, &bob).await;

    assert_eq!(app.feed(&ada, 100).await, vec![own]);
}

#[tokio::test]
async fn a_deleted_post_leaves_every_feed_and_takes_its_likes_and_saves_along() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    app.follow(&ada, &bob).await;
    let kept = app.publish_post_at(&bob, minutes_ago(2)).await;
    let doomed = app.publish_post_at(&bob, minutes_ago(1)).await;
    app.like(&ada, doomed).await;
    app.social
        .ok(
            Some(&ada),
            "mutation($id: ID!) { savePost(input: { postId: $id }) { post { id } } }",
            json!({ "id": doomed }),
        )
        .await;

    app.delete_post(&bob, doomed).await;

    assert_eq!(app.feed(&ada, 10).await, vec![kept]);
    assert_eq!(app.feed(&bob, 10).await, vec![kept]);
    assert_eq!(app.post_likes(Some(&ada), doomed).await["likeCount"], 0);
    let saved = app
        .social
        .ok(Some(&ada), "{ savedPosts { nodes { id } } }", json!({}))
        .await;
    assert_eq!(
        ids(&saved["savedPosts"]["nodes"], "/id"),
        Vec::<Uuid>::new()
    );
}

#[tokio::test]
async fn a_replayed_creation_cannot_bring_a_deleted_post_back() {
    let app = spawn().await;
    let bob = app.stack.register("bob").await;
    let post = app.publish_post(&bob).await;
    app.delete_post(&bob, post).await;

    // The same post announced again, as a re-driven dead letter would.
    let data = json!({ "id": post, "authorId": bob.id, "createdAt": Utc::now() });
    app.deliver(Envelope::new(
        "content",
        "content.post.created",
        post,
        &data,
    ))
    .await;

    assert_eq!(app.feed(&bob, 10).await, Vec::<Uuid>::new());
    assert_eq!(error_of(&app.like(&bob, post).await).0, "NOT_FOUND");
}

#[tokio::test]
async fn the_feed_pages_by_cursor_without_gaps_or_repeats() {
    let app = spawn().await;
    let ada = app.stack.register("ada").await;
    let mut posts = Vec::new();
    for minutes in (1..=5).rev() {
        posts.push(app.publish_post_at(&ada, minutes_ago(minutes)).await);
    }
    posts.reverse();

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let data = app
            .social
            .ok(
                Some(&ada),
                "query($after: String) { feed(first: 2, after: $after) {
                    totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor }
                } }",
                json!({ "after": after }),
            )
            .await;
        pages += 1;
        assert_eq!(data["feed"]["totalCount"], 5);
        seen.extend(ids(&data["feed"]["edges"], "/node/id"));
        let info = &data["feed"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
        assert!(pages < 10, "paging does not end");
    }

    assert_eq!(seen, posts);
    assert_eq!(pages, 3);
    let bad = app
        .social
        .gql(
            Some(&ada),
            "{ feed(first: -1) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_of(&bad),
        ("BAD_USER_INPUT".to_owned(), Some("first".to_owned()))
    );
    let forged = app
        .social
        .gql(
            Some(&ada),
            "{ feed(after: \"forged\") { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_of(&forged),
        ("BAD_USER_INPUT".to_owned(), Some("after".to_owned()))
    );
}

#[tokio::test]
async fn saving_twice_lists_a_post_once_and_unsaving_removes_it() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    let first = app.publish_post(&bob).await;
    let second = app.publish_post(&bob).await;
    let save = "mutation($id: ID!) { savePost(input: { postId: $id }) { post { id } } }";
    let unsave = "mutation($id: ID!) { unsavePost(input: { postId: $id }) { post { id } } }";
    let saved = "{ savedPosts(first: 10) { nodes { id likeCount } } }";

    for post in [first, second, first] {
        app.social.ok(Some(&ada), save, json!({ "id": post })).await;
    }
    let listed = app.social.ok(Some(&ada), saved, json!({})).await;
    assert_eq!(
        ids(&listed["savedPosts"]["nodes"], "/id"),
        vec![second, first]
    );
    let bobs = app.social.ok(Some(&bob), saved, json!({})).await;
    assert_eq!(ids(&bobs["savedPosts"]["nodes"], "/id"), Vec::<Uuid>::new());

    for _ in 0..2 {
        app.social
            .ok(Some(&ada), unsave, json!({ "id": second }))
            .await;
    }
    let listed = app.social.ok(Some(&ada), saved, json!({})).await;
    assert_eq!(ids(&listed["savedPosts"]["nodes"], "/id"), vec![first]);
}

#[tokio::test]
async fn each_change_enqueues_one_event_and_repeats_enqueue_none() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    let post = app.publish_post(&bob).await;

    app.follow(&ada, &bob).await;
    app.follow(&ada, &bob).await;
    app.like(&ada, post).await;
    app.like(&ada, post).await;
    app.unlike(&ada, post).await;
    app.unlike(&ada, post).await;
    app.unfollow(&ada, &bob).await;
    app.unfollow(&ada, &bob).await;

    let events = outbox(&app.db).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "social.user.followed",
            "social.post.liked",
            "social.post.unliked",
            "social.user.unfollowed",
        ]
    );
    let (ada_id, bob_id) = (ada.id.to_string(), bob.id.to_string());
    assert_eq!(events[0].1["followerId"], ada_id);
    assert_eq!(events[0].1["followeeId"], bob_id);
    assert_eq!(events[1].1["postId"], post.to_string());
    assert_eq!(events[1].1["postAuthorId"], bob_id);
    assert_eq!(events[1].1["userId"], ada_id);
}

#[tokio::test]
async fn without_a_valid_token_changes_and_private_lists_are_unauthenticated() {
    let app = spawn().await;
    let bob = app.stack.register("bob").await;
    let post = app.publish_post(&bob).await;

    let follow = app
        .social
        .gql(
            None,
            "mutation($id: ID!) { follow(input: { userId: $id }) { user { id } } }",
            json!({ "id": bob.id }),
        )
        .await;
    let like = app
        .social
        .gql(
            None,
            "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id } } }",
            json!({ "id": post }),
        )
        .await;
    let feed = app
        .social
        .gql(None, "{ feed { nodes { id } } }", json!({}))
        .await;
    let saved = app
        .social
        .gql(None, "{ savedPosts { nodes { id } } }", json!({}))
        .await;
    let forged = Member {
        id: bob.id,
        token: "not.a.jwt".to_owned(),
    };
    let bad_token = app
        .social
        .gql(Some(&forged), "{ feed { nodes { id } } }", json!({}))
        .await;

    for response in [&follow, &like, &feed, &saved, &bad_token] {
        assert_eq!(error_of(response).0, "UNAUTHENTICATED", "{response}");
    }
    assert_eq!(app.user(None, bob.id).await["followerCount"], 0);
    assert_eq!(app.post_likes(None, post).await["likeCount"], 0);
}

#[tokio::test]
async fn an_entity_batch_resolves_every_representation_even_malformed_ones() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    app.follow(&ada, &bob).await;

    let data = app
        .social
        .ok(
            Some(&ada),
            "query($reps: [_Any!]!) { _entities(representations: $reps) {
                ... on User { id followerCount viewerIsFollowing }
            } }",
            json!({ "reps": [
                { "__typename": "User", "id": bob.id },
                { "__typename": "User", "id": "not-a-uuid" },
                { "__typename": "User", "id": ada.id },
            ]}),
        )
        .await;

    assert_eq!(
        data["_entities"],
        json!([
            { "id": bob.id, "followerCount": 1, "viewerIsFollowing": true },
            { "id": "not-a-uuid", "followerCount": 0, "viewerIsFollowing": false },
            { "id": ada.id, "followerCount": 0, "viewerIsFollowing": false },
        ])
    );
}

#[tokio::test]
async fn an_erased_account_leaves_no_follows_likes_or_posts_behind() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    app.follow(&ada, &bob).await;
    app.follow(&bob, &ada).await;
    let adas = app.publish_post_at(&ada, minutes_ago(2)).await;
    let bobs = app.publish_post_at(&bob, minutes_ago(1)).await;
    app.like(&bob, adas).await;
    app.like(&ada, bobs).await;
    assert_eq!(app.feed(&ada, 10).await, vec![bobs, adas]);

    let data = json!({ "id": bob.id });
    app.deliver(Envelope::new(
        "identity",
        "identity.user.deleted",
        bob.id,
        &data,
    ))
    .await;

    let ada_seen = app.user(Some(&ada), ada.id).await;
    assert_eq!(
        (&ada_seen["followerCount"], &ada_seen["followingCount"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(app.feed(&ada, 10).await, vec![adas]);
    assert_eq!(app.post_likes(None, adas).await["likeCount"], 0);
    assert_eq!(error_of(&app.like(&ada, bobs).await).0, "NOT_FOUND");
    let confirmed: Vec<(String, Value)> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "social.user.erased")
        .collect();
    assert_eq!(
        confirmed,
        [("social.user.erased".to_owned(), json!({ "userId": bob.id }))]
    );
}

#[tokio::test]
async fn following_a_private_account_asks_and_the_account_accepts_or_declines() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
        app.stack.register("cyd").await,
    );
    let post = app.publish_post(&ada).await;
    app.set_private(&ada, true).await;

    let asked = app.follow_request(&bob, &ada).await;
    let again = app.follow_request(&bob, &ada).await;
    app.follow_request(&cyd, &ada).await;

    for response in [&asked, &again] {
        assert_eq!(
            response,
            &json!({ "requested": true, "user": {
                "followerCount": 0, "viewerIsFollowing": false, "viewerHasRequestedToFollow": true,
            } })
        );
    }
    let pending = app.requests(&ada, &ada).await;
    assert_eq!(
        ids(
            &pending["data"]["_entities"][0]["followRequests"]["nodes"],
            "/id"
        ),
        vec![cyd.id, bob.id]
    );
    let prying = app.requests(&bob, &ada).await;
    assert_eq!(error_of(&prying).0, "FORBIDDEN", "{prying}");
    assert_eq!(app.feed(&bob, 10).await, Vec::<Uuid>::new());

    let accepted = app.answer("accept", &ada, &bob).await;
    let declined = app.answer("decline", &ada, &cyd).await;
    let twice = app.answer("accept", &ada, &bob).await;

    for response in [&accepted, &declined, &twice] {
        assert!(response["errors"].is_null(), "{response}");
    }
    let bob_follows = app.follow_request(&bob, &ada).await;
    assert_eq!(bob_follows["requested"], false);
    assert_eq!(bob_follows["user"]["viewerIsFollowing"], true);
    assert_eq!(bob_follows["user"]["viewerHasRequestedToFollow"], false);
    assert_eq!(app.feed(&bob, 10).await, vec![post], "the back-fill");
    let left = app.requests(&ada, &ada).await;
    assert_eq!(
        left["data"]["_entities"][0]["followRequests"]["totalCount"],
        0
    );
    let cyd_seen = app.user(Some(&cyd), ada.id).await;
    assert_eq!(cyd_seen["viewerIsFollowing"], false);
    assert_eq!(
        error_of(&app.answer("accept", &ada, &cyd).await).0,
        "NOT_FOUND",
        "a declined request is gone"
    );
    let events: Vec<(String, Value)> = outbox(&app.db).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "social.follow.requested",
            "social.follow.requested",
            "social.user.followed",
        ]
    );
    assert_eq!(events[0].1["requesterId"], bob.id.to_string());
    assert_eq!(events[0].1["targetId"], ada.id.to_string());
    assert_eq!(events[2].1["followerId"], bob.id.to_string());
}

#[tokio::test]
async fn a_private_accounts_follows_are_seen_only_by_itself_and_its_followers() {
    let app = spawn().await;
    let (ada, bob, cyd, dan) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
        app.stack.register("cyd").await,
        app.stack.register("dan").await,
    );
    app.follow(&bob, &ada).await;
    app.follow(&ada, &dan).await;

    app.set_private(&ada, true).await;

    for viewer in [Some(&ada), Some(&bob)] {
        let seen = app.user(viewer, ada.id).await;
        assert_eq!(ids(&seen["followers"]["nodes"], "/id"), vec![bob.id]);
        assert_eq!(ids(&seen["following"]["nodes"], "/id"), vec![dan.id]);
    }
    for viewer in [Some(&cyd), None] {
        let seen = app.user(viewer, ada.id).await;
        assert_eq!(
            seen,
            json!({
                "id": ada.id, "followerCount": 1, "followingCount": 1, "viewerIsFollowing": false,
                "followers": { "totalCount": 0, "nodes": [] },
                "following": { "nodes": [] },
            }),
            "lists hidden, counts public"
        );
    }
    let requested = app.follow_request(&cyd, &ada).await;
    assert_eq!(requested["requested"], true);
    let still = app.user(Some(&cyd), ada.id).await;
    assert_eq!(
        still["followers"]["totalCount"], 0,
        "a request is no approval"
    );
}

#[tokio::test]
async fn a_private_accounts_posts_are_liked_only_by_itself_and_its_followers() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
        app.stack.register("cyd").await,
    );
    app.follow(&bob, &ada).await;
    let post = app.publish_post(&ada).await;
    app.set_private(&ada, true).await;

    let refused = app.like(&cyd, post).await;
    assert_eq!(error_of(&refused).0, "NOT_FOUND", "{refused}");
    for allowed in [&ada, &bob] {
        let liked = app.like(allowed, post).await;
        assert!(liked["errors"].is_null(), "{liked}");
    }
    assert_eq!(
        app.like(&bob, post).await["data"]["likePost"]["post"]["likeCount"],
        2
    );
    app.unfollow(&bob, &ada).await;
    assert_eq!(error_of(&app.like(&bob, post).await).0, "NOT_FOUND");
}

#[tokio::test]
async fn unfollowing_withdraws_a_pending_request() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    app.set_private(&ada, true).await;
    app.follow_request(&bob, &ada).await;

    let withdrawn = app.unfollow(&bob, &ada).await;

    assert!(withdrawn["errors"].is_null(), "{withdrawn}");
    let pending = app.requests(&ada, &ada).await;
    assert_eq!(
        pending["data"]["_entities"][0]["followRequests"]["totalCount"],
        0
    );
    assert_eq!(
        error_of(&app.answer("accept", &ada, &bob).await).0,
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn an_account_made_public_approves_its_pending_requests_and_a_late_old_change_is_ignored() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
        app.stack.register("cyd").await,
    );
    let post = app.publish_post(&ada).await;
    app.set_private_at(&ada, true, minutes_ago(2)).await;
    app.follow_request(&bob, &ada).await;

    app.set_private_at(&ada, false, minutes_ago(1)).await;

    let bob_seen = app.user(Some(&bob), ada.id).await;
    assert_eq!(bob_seen["viewerIsFollowing"], true, "{bob_seen}");
    assert_eq!(app.feed(&bob, 10).await, vec![post]);
    let followed: Vec<Value> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(t, _)| t == "social.user.followed")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(followed.len(), 1);
    assert_eq!(followed[0]["followerId"], bob.id.to_string());

    // The change to private, heard again after the newer change to public.
    app.set_private_at(&ada, true, minutes_ago(2)).await;

    assert_eq!(app.follow_request(&cyd, &ada).await["requested"], false);
}

#[tokio::test]
async fn an_erased_account_leaves_no_follow_requests_or_privacy_behind() {
    let app = spawn().await;
    let (ada, bob) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
    );
    app.set_private(&ada, true).await;
    app.set_private(&bob, true).await;
    app.follow_request(&bob, &ada).await;

    let data = json!({ "id": bob.id });
    app.deliver(Envelope::new(
        "identity",
        "identity.user.deleted",
        bob.id,
        &data,
    ))
    .await;

    let pending = app.requests(&ada, &ada).await;
    assert_eq!(
        pending["data"]["_entities"][0]["followRequests"]["totalCount"],
        0
    );
    let privacy = agora_kit::privacy::account::is_private(&app.db, bob.id)
        .await
        .expect("privacy");
    assert!(!privacy, "the replica forgot bob");
}

#[tokio::test]
async fn liked_by_leaves_out_users_with_a_block_either_way_with_the_viewer() {
    let app = spawn().await;
    let (ada, bob, cyd, dan, eve) = (
        app.stack.register("ada").await,
        app.stack.register("bob").await,
        app.stack.register("cyd").await,
        app.stack.register("dan").await,
        app.stack.register("eve").await,
    );
    let post = app.publish_post(&bob).await;
    for fan in [&bob, &cyd, &dan, &eve] {
        app.like(fan, post).await;
    }
    app.block(&ada, &dan).await;
    app.block(&cyd, &ada).await;

    let page = app
        .social
        .ok(
            Some(&ada),
            "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Post {
                likeCount likedBy(first: 2) { nodes { id } pageInfo { hasNextPage } }
            } } }",
            json!({ "reps": [{ "__typename": "Post", "id": post }] }),
        )
        .await;

    let seen = &page["_entities"][0];
    assert_eq!(
        ids(&seen["likedBy"]["nodes"], "/id"),
        vec![eve.id, bob.id],
        "the page reads on past the blocked likers: {seen}"
    );
    assert_eq!(seen["likedBy"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(seen["likeCount"], 4);
    let anonymous = app.post_likes(None, post).await;
    assert_eq!(
        ids(&anonymous["likedBy"]["nodes"], "/id"),
        vec![eve.id, dan.id, cyd.id, bob.id]
    );
    let dan_seen = app.post_likes(Some(&dan), post).await;
    assert_eq!(
        ids(&dan_seen["likedBy"]["nodes"], "/id"),
        vec![eve.id, dan.id, cyd.id, bob.id],
        "dan has no block with anyone but ada, who did not like it"
    );
}

#[test]
fn the_committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    agora_kit::testing::assert_committed_schema(path, &agora_social::schema::sdl());
}

/// Social's schema over a database whose statements are counted, for the batching proof.
struct Counted {
    schema: agora_social::schema::SocialSchema,
    social: Arc<agora_social::social::Social>,
    statements: StatementCounter,
    _env: TestEnv,
}

async fn counted() -> Counted {
    let mut env = TestEnv::new();
    let url = env.database_url("social").await;
    let mut db = agora_kit::db::connect::<agora_social_migration::Migrator>(&url)
        .await
        .expect("database");
    let statements = StatementCounter::attach(&mut db);
    let social = Arc::new(agora_social::social::Social {
        db,
        outbox: Arc::new(tokio::sync::Notify::new()),
    });
    Counted {
        schema: agora_social::schema::build(social.clone()),
        social,
        statements,
        _env: env,
    }
}

impl Counted {
    /// How many statements `query` takes as `viewer` (the fewest of a few runs).
    async fn statements_for(&self, viewer: Uuid, query: &str) -> usize {
        self.statements
            .fewest(|| async {
                let request = async_graphql::Request::new(query).data(agora_kit::auth::Viewer {
                    user_id: viewer,
                    session_id: Uuid::now_v7(),
                });
                let response = self.schema.execute(request).await;
                assert!(response.errors.is_empty(), "{:?}", response.errors);
            })
            .await
    }
}

#[tokio::test]
async fn a_feed_page_of_fifty_costs_as_many_statements_as_a_page_of_five() {
    use agora_social::events::{PostCreated, post_created};
    use sea_orm::TransactionTrait;

    let app = counted().await;
    let (reader, author, fans) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        [Uuid::now_v7(), Uuid::now_v7()],
    );
    app.social.follow(reader, author).await.expect("follow");
    for minutes in 1..=60 {
        let post = PostCreated {
            id: Uuid::now_v7(),
            author_id: author,
            created_at: minutes_ago(minutes),
        };
        let txn = app.social.db.begin().await.expect("transaction");
        post_created(&txn, &post).await.expect("replicated");
        txn.commit().await.expect("commit");
        for fan in fans.iter().chain([&reader]) {
            app.social.like(*fan, post.id).await.expect("like");
        }
        app.social.follow(fans[0], fans[1]).await.expect("follow");
    }
    let feed = |first: usize| {
        format!(
            "{{ feed(first: {first}) {{ edges {{ node {{
                id likeCount viewerHasLiked
                likedBy(first: 3) {{ nodes {{ id followerCount viewerIsFollowing }} }}
            }} }} }} }}"
        )
    };

    let five = app.statements_for(reader, &feed(5)).await;
    let fifty = app.statements_for(reader, &feed(50)).await;

    assert!(five > 0, "statements are counted");
    assert_eq!(five, fifty);
}

#[tokio::test]
async fn one_statement_pages_each_parent_on_its_own() {
    use agora_kit::paging::{self, PageRequest};
    use agora_social::store::follow;
    use agora_social::store::list::List;

    let mut env = TestEnv::new();
    let url = env.database_url("social").await;
    let db = agora_kit::db::connect::<agora_social_migration::Migrator>(&url)
        .await
        .expect("database");
    let (popular, quiet, nobody) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let fans: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    for (i, fan) in fans.iter().enumerate() {
        let at = minutes_ago(10 - i as i64);
        follow::insert(&db, *fan, popular, at)
            .await
            .expect("follow");
    }
    follow::insert(&db, fans[0], quiet, minutes_ago(1))
        .await
        .expect("follow");
    let request = PageRequest {
        first: 2,
        after: None,
    };

    let pages = paging::pages(&db, List::Followers, &[popular, quiet, nobody], request)
        .await
        .expect("pages");

    let nodes = |id: Uuid| -> Vec<Uuid> { pages[&id].entries.iter().map(|e| e.node).collect() };
    assert_eq!(nodes(popular), vec![fans[2], fans[1]]);
    assert!(pages[&popular].has_next);
    assert_eq!(nodes(quiet), vec![fans[0]]);
    assert!(!pages[&quiet].has_next);
    assert!(!pages.contains_key(&nobody));
    let next = PageRequest {
        first: 2,
        after: Some(pages[&popular].entries[1].position()),
    };
    let rest = paging::pages(&db, List::Followers, &[popular], next)
        .await
        .expect("next page");
    assert_eq!(rest[&popular].entries.len(), 1);
    assert_eq!(rest[&popular].entries[0].node, fans[0]);
}
