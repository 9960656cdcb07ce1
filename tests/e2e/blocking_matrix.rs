//! The privacy and blocking matrix through the router: once Ada blocks Bob, each sees
//! nothing of the other — posts (by id, a user's, by tag, by search), comments, profile
//! fields, follower lists, likes, mentions, user search — and can do nothing to the other
//! (comment, like, message), each refusal `NOT_FOUND` as for what does not exist; a third
//! user still sees both; after the block is lifted all of it is visible again.
//!
//! What `blocking.rs` already shows is not repeated here: follows ended and refused both
//! ways, Bob's like of Ada's post and Bob's message to Ada refused, the feed.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn};

const UPDATE: &str = "mutation($input: UpdateProfileInput!) {
    updateProfile(input: $input) { user { bio } }
}";
const CREATE_POST: &str =
    "mutation($body: String!) { createPost(input: { body: $body }) { post { id } } }";
const COMMENT: &str = "mutation($id: ID!, $body: String!) {
    addComment(input: { postId: $id, body: $body }) { comment { id } }
}";
const LIKE: &str = "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id } } }";
const FOLLOW: &str = "mutation($id: ID!) { follow(input: { userId: $id }) { user { id } } }";
const BLOCK: &str = "mutation($id: ID!) { blockUser(input: { userId: $id }) { user { id } } }";
const UNBLOCK: &str = "mutation($id: ID!) { unblockUser(input: { userId: $id }) { user { id } } }";
const START: &str = "mutation($ids: [ID!]!) {
    startConversation(input: { participantIds: $ids }) { conversation { id } }
}";
const SEND: &str = "mutation($id: ID!, $body: String!) {
    sendMessage(input: { conversationId: $id, body: $body }) { message { id } }
}";
const NOTIFICATIONS: &str = "{ notifications(first: 50) { nodes { kind actor { id } } } }";

/// Everything a viewer may see of `other` (id `$other`, handle `$handle`, post `$post`),
/// directly and through Carol (who follows both, and whose post both liked and commented).
const SEEN: &str = "query($post: ID!, $other: ID!, $handle: String!, $carolPost: ID!) {
    post(id: $post) { id }
    user(id: $other) { id }
    profile: userByHandle(handle: $handle) {
        displayName bio postCount posts { nodes { id } }
        followers { nodes { id } } following { nodes { id } }
    }
    postsByTag(tag: \"matrix\") { nodes { id } }
    searchPosts(query: \"matrix\") { nodes { id } }
    searchUsers(query: $handle) { nodes { id } }
    carol: userByHandle(handle: \"carol\") { followers { nodes { id } } }
    carolPost: post(id: $carolPost) {
        comments { nodes { author { id } } }
        likedBy { nodes { id } }
    }
}";

/// How many rows [`traces_of`] has.
const ROWS: usize = 14;

/// The rows visible again once the block is lifted (the follows it ended stay ended).
const AGAIN: &[&str] = &[
    "post by id",
    "user by id",
    "bio",
    "posts by tag",
    "post search",
    "user search",
    "comments",
];

/// One side of the block: the session and its post.
struct Side {
    session: Session,
    handle: &'static str,
    post: String,
}

/// The ids of a list's `nodes`, or of their `author`s.
fn ids(list: &Value) -> Vec<&str> {
    list["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|node| node["id"].as_str().or(node["author"]["id"].as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// The rows of the matrix in which the viewer sees `other`: an empty list is "nothing".
fn traces_of(seen: &Value, other: &Side) -> Vec<&'static str> {
    let (user, post) = (other.session.user_id.as_str(), other.post.as_str());
    let profile = &seen["profile"];
    let rows = [
        ("post by id", !seen["post"].is_null()),
        ("user by id", !seen["user"].is_null()),
        ("display name", !profile["displayName"].is_null()),
        ("bio", !profile["bio"].is_null()),
        ("post count", profile["postCount"] != 0),
        ("user's posts", ids(&profile["posts"]).contains(&post)),
        ("their followers", !ids(&profile["followers"]).is_empty()),
        ("whom they follow", !ids(&profile["following"]).is_empty()),
        ("posts by tag", ids(&seen["postsByTag"]).contains(&post)),
        ("post search", ids(&seen["searchPosts"]).contains(&post)),
        ("user search", ids(&seen["searchUsers"]).contains(&user)),
        (
            "comments",
            ids(&seen["carolPost"]["comments"]).contains(&user),
        ),
        (
            "likedBy",
            ids(&seen["carolPost"]["likedBy"]).contains(&user),
        ),
        (
            "a third's followers",
            ids(&seen["carol"]["followers"]).contains(&user),
        ),
    ];
    rows.into_iter()
        .filter(|(_, shown)| *shown)
        .map(|(row, _)| row)
        .collect()
}

/// The variables of [`SEEN`] for what the viewer may see of `other`.
fn of(other: &Side, carol_post: &str) -> Value {
    json!({
        "post": other.post,
        "other": other.session.user_id,
        "handle": other.handle,
        "carolPost": carol_post,
    })
}

/// Repeats `mutation` as `session` until it is refused as `NOT_FOUND` (bounded): the
/// refusal depends on an event that a subgraph has yet to consume.
async fn until_refused(app: &TestApp, mutation: &str, variables: Value, session: &Session) {
    for _ in 0..200 {
        let response = app
            .graphql(mutation, variables.clone(), Some(&session.access_token))
            .await;
        if error_code(&response) == "NOT_FOUND" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{mutation} was never refused");
}

/// Posts `body` as `author`; returns the post's id.
async fn create_post(app: &TestApp, author: &Session, body: &str) -> String {
    let data = app.ok(CREATE_POST, json!({ "body": body }), author).await;
    data["createPost"]["post"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Whether the notifications in `data` hold one of `kind` from `actor`.
fn notified(data: &Value, kind: &str, actor: &Session) -> bool {
    let nodes = data["notifications"]["nodes"].as_array().expect("nodes");
    nodes
        .iter()
        .any(|node| node["kind"] == kind && node["actor"]["id"] == actor.user_id.as_str())
}

#[tokio::test]
async fn across_a_block_each_side_sees_nothing_of_the_other_and_can_do_nothing_to_them() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let carol_post = create_post(&app, &carol, "carol asks #matrix").await;
    let mut sides = Vec::new();
    for (session, handle) in [(ada, "ada"), (bob, "bob")] {
        app.wait_for_profile(&session.access_token).await;
        let bio = json!({ "input": { "bio": format!("{handle} here") } });
        app.ok(UPDATE, bio, &session).await;
        let post = create_post(&app, &session, &format!("{handle} writes #matrix")).await;
        let reply = json!({ "id": carol_post, "body": format!("{handle} replies") });
        app.ok(COMMENT, reply, &session).await;
        // Social knows of the post from content's event.
        app.eventually(LIKE, json!({ "id": carol_post }), &session, |_| true)
            .await;
        app.ok(FOLLOW, json!({ "id": carol.user_id }), &session)
            .await;
        app.ok(FOLLOW, json!({ "id": session.user_id }), &carol)
            .await;
        sides.push(Side {
            session,
            handle,
            post,
        });
    }
    let (ada, bob) = (&sides[0], &sides[1]);
    let conversation = app
        .eventually(
            START,
            json!({ "ids": [ada.session.user_id] }),
            &bob.session,
            |_| true,
        )
        .await["startConversation"]["conversation"]["id"]
        .clone();
    // Before the block each sees all of the other (once profiles and search caught up).
    for (viewer, other) in [(bob, ada), (ada, bob)] {
        app.eventually(SEEN, of(other, &carol_post), &viewer.session, |seen| {
            traces_of(seen, other).len() == ROWS
        })
        .await;
    }

    app.ok(BLOCK, json!({ "id": bob.session.user_id }), &ada.session)
        .await;

    // Content and profiles learn of the block from social's event.
    for (viewer, other) in [(bob, ada), (ada, bob)] {
        app.eventually(SEEN, of(other, &carol_post), &viewer.session, |seen| {
            seen["post"].is_null() && seen["user"].is_null()
        })
        .await;
    }
    for (viewer, other) in [(bob, ada), (ada, bob)] {
        let seen = app.ok(SEEN, of(other, &carol_post), &viewer.session).await;
        let traces = traces_of(&seen, other);
        assert_eq!(
            traces,
            Vec::<&str>::new(),
            "{} sees something of {}: {seen}",
            viewer.handle,
            other.handle
        );

        let refusals = [
            (COMMENT, json!({ "id": other.post, "body": "hi" })),
            (LIKE, json!({ "id": other.post })),
        ];
        for (mutation, variables) in refusals {
            let refused = app
                .graphql(mutation, variables, Some(&viewer.session.access_token))
                .await;
            assert_eq!(error_code(&refused), "NOT_FOUND", "{mutation}: {refused}");
        }
    }
    // Messages, both ways (Bob's way is in `blocking.rs` too): messaging learns of the
    // block from the same event.
    let message = json!({ "id": conversation, "body": "hello?" });
    for sender in [&ada.session, &bob.session] {
        until_refused(&app, SEND, message.clone(), sender).await;
    }

    // Mentions: each names the other and Carol; once Carol is told of both, the other
    // would have been told too (messaging handles each post in one transaction).
    create_post(&app, &ada.session, "@bob @carol look").await;
    create_post(&app, &bob.session, "@ada @carol look").await;
    app.eventually(NOTIFICATIONS, json!({}), &carol, |data| {
        notified(data, "MENTIONED", &ada.session) && notified(data, "MENTIONED", &bob.session)
    })
    .await;
    for (viewer, other) in [(bob, ada), (ada, bob)] {
        let data = app.ok(NOTIFICATIONS, json!({}), &viewer.session).await;
        assert!(
            !notified(&data, "MENTIONED", &other.session),
            "a mention across a block is dropped: {data}"
        );
    }

    // A third user still sees both sides.
    for other in [ada, bob] {
        let seen = app.ok(SEEN, of(other, &carol_post), &carol).await;
        assert!(traces_of(&seen, other).contains(&"posts by tag"), "{seen}");
        assert!(traces_of(&seen, other).contains(&"comments"), "{seen}");
    }

    app.ok(UNBLOCK, json!({ "id": bob.session.user_id }), &ada.session)
        .await;

    // Each subgraph learns of the unblock from social's event.
    for (viewer, other) in [(bob, ada), (ada, bob)] {
        app.eventually(SEEN, of(other, &carol_post), &viewer.session, |seen| {
            let traces = traces_of(seen, other);
            AGAIN.iter().all(|row| traces.contains(row))
        })
        .await;
        let reply = json!({ "id": other.post, "body": "welcome back" });
        app.ok(COMMENT, reply, &viewer.session).await;
        app.ok(LIKE, json!({ "id": other.post }), &viewer.session)
            .await;
    }
}
