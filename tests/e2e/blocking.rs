//! Blocking and muting through the router: what a block ends and refuses across social
//! and messaging (as `NOT_FOUND`, so that it is not revealed), and what a mute hides.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn};

const FOLLOW: &str = "mutation($id: ID!) { follow(input: { userId: $id }) { user { id } } }";
const BLOCK: &str =
    "mutation($id: ID!) { blockUser(input: { userId: $id }) { user { viewerHasBlocked } } }";
const UNBLOCK: &str =
    "mutation($id: ID!) { unblockUser(input: { userId: $id }) { user { viewerHasBlocked } } }";
const MUTE: &str =
    "mutation($id: ID!) { muteUser(input: { userId: $id }) { user { viewerHasMuted } } }";
const UNMUTE: &str =
    "mutation($id: ID!) { unmuteUser(input: { userId: $id }) { user { viewerHasMuted } } }";
const CREATE_POST: &str =
    "mutation($body: String!) { createPost(input: { body: $body }) { post { id } } }";
const LIKE: &str = "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id } } }";
const FEED: &str = "{ feed(first: 20) { nodes { body } } }";
const FOLLOWS: &str = "query($h: String!) { userByHandle(handle: $h) {
    followerCount followingCount
    followers(first: 10) { totalCount nodes { id } }
    following(first: 10) { totalCount nodes { id } }
} }";
const START: &str = "mutation($ids: [ID!]!) {
    startConversation(input: { participantIds: $ids }) { conversation { id } }
}";
const SEND: &str = "mutation($id: ID!, $body: String!) {
    sendMessage(input: { conversationId: $id, body: $body }) { message { id } }
}";
const NOTIFICATIONS: &str = "{ notifications(first: 20) { nodes { kind actor { id } } } }";

async fn post(app: &TestApp, author: &Session, body: &str) -> String {
    let data = app.ok(CREATE_POST, json!({ "body": body }), author).await;
    data["createPost"]["post"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn bodies(feed: &Value) -> Vec<String> {
    feed["feed"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["body"].as_str().expect("body").to_owned())
        .collect()
}

#[tokio::test]
async fn a_block_ends_follows_both_ways_and_refuses_follows_likes_and_messages_as_not_found() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    app.ok(FOLLOW, json!({ "id": bob.user_id }), &ada).await;
    app.ok(FOLLOW, json!({ "id": ada.user_id }), &bob).await;
    let conversation = app
        .eventually(START, json!({ "ids": [ada.user_id] }), &bob, |_| true)
        .await["startConversation"]["conversation"]["id"]
        .clone();
    let ada_post = post(&app, &ada, "ada writes").await;
    app.eventually(FEED, json!({}), &bob, |feed| {
        bodies(feed).contains(&"ada writes".to_owned())
    })
    .await;

    let blocked = app.ok(BLOCK, json!({ "id": bob.user_id }), &ada).await;
    assert_eq!(blocked["blockUser"]["user"]["viewerHasBlocked"], true);

    let feed = app.ok(FEED, json!({}), &bob).await;
    assert!(!bodies(&feed).contains(&"ada writes".to_owned()), "{feed}");
    let follows = app.ok(FOLLOWS, json!({ "h": "ada" }), &bob).await;
    assert_eq!(
        follows["userByHandle"],
        json!({
            "followerCount": 0, "followingCount": 0,
            "followers": { "totalCount": 0, "nodes": [] },
            "following": { "totalCount": 0, "nodes": [] },
        }),
        "the blocked user sees none of the blocker's follows"
    );
    let own = app.ok(FOLLOWS, json!({ "h": "bob" }), &bob).await;
    assert_eq!(own["userByHandle"]["followerCount"], 0, "the follows ended");
    assert_eq!(
        own["userByHandle"]["followingCount"], 0,
        "the follows ended"
    );

    let follow = app
        .graphql(
            FOLLOW,
            json!({ "id": ada.user_id }),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(error_code(&follow), "NOT_FOUND", "{follow}");
    let like = app
        .graphql(LIKE, json!({ "id": ada_post }), Some(&bob.access_token))
        .await;
    assert_eq!(error_code(&like), "NOT_FOUND", "{like}");
    let follow_back = app
        .graphql(
            FOLLOW,
            json!({ "id": bob.user_id }),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(
        error_code(&follow_back),
        "NOT_FOUND",
        "both ways: {follow_back}"
    );

    // Messaging learns of the block from social's event.
    let message = json!({ "id": conversation, "body": "hello?" });
    for _ in 0..200 {
        let sent = app
            .graphql(SEND, message.clone(), Some(&bob.access_token))
            .await;
        if error_code(&sent) == "NOT_FOUND" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent = app.graphql(SEND, message, Some(&bob.access_token)).await;
    assert_eq!(error_code(&sent), "NOT_FOUND", "{sent}");
    let unknown = app
        .graphql(
            START,
            json!({ "ids": [ada.user_id] }),
            Some(&bob.access_token),
        )
        .await;
    let nobody = app
        .graphql(
            START,
            json!({ "ids": [uuid::Uuid::now_v7()] }),
            Some(&bob.access_token),
        )
        .await;
    assert_eq!(
        unknown["errors"][0]["extensions"], nobody["errors"][0]["extensions"],
        "a blocker looks like nobody: {unknown}"
    );

    let unblocked = app.ok(UNBLOCK, json!({ "id": bob.user_id }), &ada).await;
    assert_eq!(unblocked["unblockUser"]["user"]["viewerHasBlocked"], false);
    app.ok(FOLLOW, json!({ "id": ada.user_id }), &bob).await;
    app.ok(LIKE, json!({ "id": ada_post }), &bob).await;
}

#[tokio::test]
async fn a_mute_hides_the_muted_users_posts_and_actions_from_the_muter_only() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    app.ok(FOLLOW, json!({ "id": bob.user_id }), &ada).await;
    let muted = app.ok(MUTE, json!({ "id": bob.user_id }), &ada).await;
    assert_eq!(muted["muteUser"]["user"]["viewerHasMuted"], true);

    let before = post(&app, &bob, "while muted").await;
    app.ok(FOLLOW, json!({ "id": ada.user_id }), &bob).await;
    let ada_post = post(&app, &ada, "ada writes").await;
    app.eventually(LIKE, json!({ "id": ada_post }), &bob, |_| true)
        .await;
    // Bob can still like and follow: a mute is not a block.
    app.eventually(LIKE, json!({ "id": before }), &ada, |_| true)
        .await;

    // Ada's like was the last of social's events: once Bob is told, messaging has seen
    // Bob's follow and like too.
    app.eventually(NOTIFICATIONS, json!({}), &bob, |data| {
        let nodes = data["notifications"]["nodes"].as_array().expect("nodes");
        nodes.iter().any(|node| node["kind"] == "LIKED")
    })
    .await;
    let notifications = app.ok(NOTIFICATIONS, json!({}), &ada).await;
    assert_eq!(
        notifications["notifications"]["nodes"],
        json!([]),
        "no follow or like of a muted user reaches the muter"
    );
    let feed = app.ok(FEED, json!({}), &ada).await;
    assert_eq!(bodies(&feed), ["ada writes"], "{feed}");

    app.ok(UNMUTE, json!({ "id": bob.user_id }), &ada).await;
    let feed = app.ok(FEED, json!({}), &ada).await;
    assert!(bodies(&feed).contains(&"while muted".to_owned()), "{feed}");
}
