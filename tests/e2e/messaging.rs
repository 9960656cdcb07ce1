//! Messaging through the router, as a frontend uses it: one user's notifications and
//! messages arrive live on their WebSocket and on their second client's SSE stream, with
//! fields from four subgraphs; and nobody reads, writes or listens to a conversation
//! they are not in.

use std::time::Duration;

use agora_kit::testing::{FRAME_WAIT, Socket};
use agora_messaging::live::{conversation_topic, notification_topic};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{self, Session, TestApp, error_code};

/// How soon a live notification or message must arrive after the action causing it.
const LIVE: Duration = Duration::from_secs(1);

const NOTIFICATION_ADDED: &str = "subscription { notificationAdded {
    kind actor { handle displayName } post { body likeCount }
} }";
const MESSAGE_ADDED: &str = "subscription($id: ID!) { messageAdded(conversationId: $id) {
    body sender { handle }
} }";
const START: &str = "mutation($ids: [ID!]!) {
    startConversation(input: { participantIds: $ids }) { conversation { id } }
}";
const SEND: &str = "mutation($id: ID!, $body: String!) {
    sendMessage(input: { conversationId: $id, body: $body }) { message { id } }
}";

/// Two signed-in users whose profiles exist and whom messaging knows.
async fn members(app: &TestApp, handles: &[&str]) -> Vec<Session> {
    let mut sessions = Vec::new();
    for handle in handles {
        let session = app.register(handle).await;
        app.wait_for_profile(&session.access_token).await;
        sessions.push(session);
    }
    sessions
}

/// `starter`'s conversation with `others`, once messaging has heard of them all.
async fn conversation(app: &TestApp, starter: &Session, others: &[&Session]) -> String {
    let ids: Vec<&str> = others.iter().map(|s| s.user_id.as_str()).collect();
    let data = app
        .eventually(START, json!({ "ids": ids }), starter, |_| true)
        .await;
    data["startConversation"]["conversation"]["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).expect("a UUID")
}

#[tokio::test]
async fn a_users_subscriptions_receive_each_notification_and_message_live_with_fields_from_four_subgraphs()
 {
    let app = helpers::spawn().await;
    let sessions = members(&app, &["ada", "bob"]).await;
    let (ada, bob) = (&sessions[0], &sessions[1]);
    let post = app
        .ok(
            "mutation { createPost(input: { body: \"Hello there\" }) { post { id } } }",
            json!({}),
            bob,
        )
        .await["createPost"]["post"]["id"]
        .clone();
    let chat = conversation(&app, ada, &[bob]).await;
    let mut socket = Socket::connect(&app.url(), Some(&bob.access_token))
        .await
        .expect("the router accepts bob");
    socket
        .subscribe("told", NOTIFICATION_ADDED, json!({}))
        .await;
    socket
        .subscribe("chat", MESSAGE_ADDED, json!({ "id": chat }))
        .await;
    let mut sse = app
        .subscribe_sse(NOTIFICATION_ADDED, json!({}), &bob.access_token)
        .await;
    app.wait_for_listeners(&notification_topic(uuid(&bob.user_id)), 2)
        .await;
    app.wait_for_listeners(&conversation_topic(uuid(&chat)), 1)
        .await;
    let ada_as_actor = json!({ "handle": "ada", "displayName": "ada" });

    app.ok(
        "mutation($id: ID!) { follow(input: { userId: $id }) { user { id } } }",
        json!({ "id": bob.user_id }),
        ada,
    )
    .await;
    let followed = json!({ "data": { "notificationAdded": {
        "kind": "FOLLOWED", "actor": ada_as_actor, "post": null,
    } } });
    assert_eq!(socket.next("told", LIVE).await, followed);
    assert_eq!(sse.next(LIVE).await, followed);

    // Liking waits for social to hear of the post.
    app.eventually(
        "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id } } }",
        json!({ "id": post }),
        ada,
        |_| true,
    )
    .await;
    let liked = json!({ "data": { "notificationAdded": {
        "kind": "LIKED", "actor": ada_as_actor, "post": { "body": "Hello there", "likeCount": 1 },
    } } });
    assert_eq!(socket.next("told", LIVE).await, liked);
    assert_eq!(sse.next(LIVE).await, liked);

    app.ok(
        "mutation($id: ID!) { addComment(input: { postId: $id, body: \"Hi bob\" }) { comment { id } } }",
        json!({ "id": post }),
        ada,
    )
    .await;
    let commented = json!({ "data": { "notificationAdded": {
        "kind": "COMMENTED", "actor": ada_as_actor, "post": { "body": "Hello there", "likeCount": 1 },
    } } });
    assert_eq!(socket.next("told", LIVE).await, commented);
    assert_eq!(sse.next(LIVE).await, commented);

    app.ok(SEND, json!({ "id": chat, "body": "Welcome!" }), ada)
        .await;
    assert_eq!(
        socket.next("chat", LIVE).await,
        json!({ "data": { "messageAdded": { "body": "Welcome!", "sender": { "handle": "ada" } } } })
    );
    let unread = app
        .ok(
            "{ unreadMessageCount unreadNotificationCount }",
            json!({}),
            bob,
        )
        .await;
    assert_eq!(
        unread,
        json!({ "unreadMessageCount": 1, "unreadNotificationCount": 3 })
    );
}

#[tokio::test]
async fn nobody_subscribes_to_reads_or_posts_in_a_conversation_they_are_not_in() {
    let app = helpers::spawn().await;
    let sessions = members(&app, &["ada", "bob", "cyd"]).await;
    let (ada, bob, cyd) = (&sessions[0], &sessions[1], &sessions[2]);
    let private = conversation(&app, bob, &[cyd]).await;
    app.ok(SEND, json!({ "id": private, "body": "just us" }), bob)
        .await;

    let read = app
        .graphql(
            "query($id: ID!) { conversation(id: $id) { messages { nodes { body } } } }",
            json!({ "id": private }),
            Some(&ada.access_token),
        )
        .await;
    let posted = app
        .graphql(
            SEND,
            json!({ "id": private, "body": "me too" }),
            Some(&ada.access_token),
        )
        .await;
    let mut socket = Socket::connect(&app.url(), Some(&ada.access_token))
        .await
        .expect("the router accepts ada");
    socket
        .subscribe("peek", MESSAGE_ADDED, json!({ "id": private }))
        .await;
    let subscribed: Value = socket.next("peek", FRAME_WAIT).await;

    for response in [&read, &posted, &subscribed] {
        assert_eq!(error_code(response), "NOT_FOUND", "{response}");
    }
    let listed = app
        .ok("{ conversations { nodes { id } } }", json!({}), ada)
        .await;
    assert_eq!(listed, json!({ "conversations": { "nodes": [] } }));
}
