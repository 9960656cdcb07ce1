//! Messaging over real HTTP and WebSocket: notifications made from events, direct
//! messages, who may see what, and live delivery across instances, with tokens from a
//! real identity subgraph and social's and content's events played on the test's bus.
//!
//! Embedded bus and SQLite by default; JetStream and Postgres in CI's real mode (see the
//! kit's `TestEnv`), each test on a namespace and databases of its own.

use std::sync::Arc;
use std::time::Duration;

use agora_kit::events::{Consumer, Envelope, Handler, HandlerError, Outcome};
use agora_kit::testing::{
    FRAME_WAIT, Graphql, Member, Socket, Stack, StatementCounter, TestEnv, error_of, outbox,
};
use agora_messaging::live::{conversation_topic, notification_topic};
use agora_messaging::store::member;
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

/// How long a subscription that must stay silent is watched.
const SILENCE: Duration = Duration::from_millis(300);

/// One test's identity and messaging subgraphs, the bus between them, and messaging's
/// database.
struct App {
    /// Messaging's GraphQL endpoint.
    messaging: Graphql,
    /// Messaging's own database, read directly to check the replica and the outbox.
    db: DatabaseConnection,
    /// Identity and messaging on the test's bus, on which the test plays social and content.
    stack: Stack,
}

async fn spawn() -> App {
    let mut stack = Stack::new().await;
    stack.start("identity", agora_identity::build).await;
    let messaging = stack.start("messaging", agora_messaging::build).await;
    let db = stack
        .connect::<agora_messaging_migration::Migrator>("messaging")
        .await;
    App {
        messaging,
        db,
        stack,
    }
}

const NOTIFICATIONS: &str = "query($first: Int, $after: String, $unread: Boolean) {
    notifications(first: $first, after: $after, unreadOnly: $unread) {
        edges { cursor node { id kind actor { id } post { id } read } }
        pageInfo { hasNextPage }
    }
    unreadNotificationCount
}";

const START: &str = "mutation($ids: [ID!]!) {
    startConversation(input: { participantIds: $ids }) { conversation { id participants { id } } }
}";

const SEND: &str = "mutation($id: ID!, $body: String!) {
    sendMessage(input: { conversationId: $id, body: $body }) { message { id body sender { id } } }
}";

const NOTIFICATION_ADDED: &str =
    "subscription { notificationAdded { kind actor { id } post { id } read } }";

const MESSAGE_ADDED: &str =
    "subscription($id: ID!) { messageAdded(conversationId: $id) { body sender { id } } }";

impl App {
    /// Registers `handle` through identity and waits (bounded) until messaging replicated
    /// the account from identity's event.
    async fn member(&self, handle: &str) -> Member {
        let registered = self.stack.register(handle).await;
        for _ in 0..500 {
            let known = member::Entity::find_by_id(registered.id)
                .one(&self.db)
                .await
                .expect("replica");
            if known.is_some() {
                return registered;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("messaging never learnt about {handle}");
    }

    /// Publishes an event as its domain would and waits until messaging applied it.
    async fn deliver(&self, envelope: Envelope) {
        self.stack.deliver(&self.db, "messaging", envelope).await;
    }

    async fn follow(&self, who: &Member, whom: &Member) -> Envelope {
        let data = json!({ "followerId": who.id, "followeeId": whom.id, "followedAt": chrono::Utc::now() });
        let event = Envelope::new("social", "social.user.followed", whom.id, &data);
        self.deliver(event.clone()).await;
        event
    }

    async fn like(&self, who: &Member, post: Uuid, author: &Member) {
        let data = json!({ "postId": post, "postAuthorId": author.id, "userId": who.id });
        self.deliver(Envelope::new("social", "social.post.liked", post, &data))
            .await;
    }

    async fn post(&self, author: &Member, body: &str) -> Uuid {
        let id = Uuid::now_v7();
        let data = json!({ "id": id, "authorId": author.id, "body": body, "tags": [], "createdAt": chrono::Utc::now() });
        self.deliver(Envelope::new("content", "content.post.created", id, &data))
            .await;
        id
    }

    async fn comment(&self, who: &Member, post: Uuid, author: &Member, body: &str) {
        let id = Uuid::now_v7();
        let data = json!({
            "id": id, "postId": post, "postAuthorId": author.id, "authorId": who.id,
            "body": body, "createdAt": chrono::Utc::now(),
        });
        self.deliver(Envelope::new(
            "content",
            "content.comment.created",
            id,
            &data,
        ))
        .await;
    }

    /// `viewer`'s notifications as (kind, actor, post), newest first.
    async fn notifications(&self, viewer: &Member) -> Vec<(String, Uuid, Option<Uuid>)> {
        let data = self
            .messaging
            .ok(Some(viewer), NOTIFICATIONS, json!({ "first": 50 }))
            .await;
        data["notifications"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| {
                let node = &edge["node"];
                (
                    node["kind"].as_str().expect("kind").to_owned(),
                    uuid(&node["actor"]["id"]),
                    node["post"]["id"]
                        .as_str()
                        .map(|_| uuid(&node["post"]["id"])),
                )
            })
            .collect()
    }

    async fn unread_notifications(&self, viewer: &Member) -> Value {
        self.messaging
            .ok(Some(viewer), "{ unreadNotificationCount }", json!({}))
            .await["unreadNotificationCount"]
            .clone()
    }

    async fn start(&self, viewer: &Member, others: &[&Member]) -> Value {
        let ids: Vec<Uuid> = others.iter().map(|m| m.id).collect();
        self.messaging
            .gql(Some(viewer), START, json!({ "ids": ids }))
            .await
    }

    async fn conversation_with(&self, viewer: &Member, others: &[&Member]) -> String {
        let response = self.start(viewer, others).await;
        response["data"]["startConversation"]["conversation"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("started: {response}"))
            .to_owned()
    }

    async fn send(&self, viewer: &Member, conversation: &str, body: &str) -> Value {
        self.messaging
            .gql(
                Some(viewer),
                SEND,
                json!({ "id": conversation, "body": body }),
            )
            .await
    }

    /// A WebSocket of `viewer` to the messaging instance at `api`.
    async fn socket(api: &Graphql, viewer: &Member) -> Socket {
        Socket::connect(&api.url, Some(&viewer.token))
            .await
            .expect("the connection is accepted")
    }
}

fn uuid(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_else(|| panic!("an id: {value}"))
}

#[tokio::test]
async fn a_follow_a_like_and_a_comment_notify_the_one_they_concern() {
    let app = spawn().await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    let post = Uuid::now_v7();

    app.follow(&bob, &ada).await;
    app.like(&bob, post, &ada).await;
    app.comment(&bob, post, &ada, "nice one").await;

    assert_eq!(
        app.notifications(&ada).await,
        vec![
            ("COMMENTED".to_owned(), bob.id, Some(post)),
            ("LIKED".to_owned(), bob.id, Some(post)),
            ("FOLLOWED".to_owned(), bob.id, None),
        ]
    );
    assert_eq!(app.unread_notifications(&ada).await, 3);
    assert!(app.notifications(&bob).await.is_empty());
}

#[tokio::test]
async fn nobody_is_notified_of_their_own_actions() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let post = app.post(&ada, "talking to myself, @ada").await;

    app.like(&ada, post, &ada).await;
    app.comment(&ada, post, &ada, "and again @ADA").await;

    assert!(app.notifications(&ada).await.is_empty());
    assert_eq!(app.unread_notifications(&ada).await, 0);
}

#[tokio::test]
async fn mentions_resolve_through_the_handle_replica_and_notify_each_user_once() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.member("ada").await,
        app.member("bob").await,
        app.member("cyd").await,
    );

    let post = app
        .post(
            &ada,
            "hello @Bob and @bob, not @nobody_here nor mail@cyd.org",
        )
        .await;
    app.comment(&cyd, post, &ada, "@ada @bob look").await;

    assert_eq!(
        app.notifications(&bob).await,
        vec![
            ("MENTIONED".to_owned(), cyd.id, Some(post)),
            ("MENTIONED".to_owned(), ada.id, Some(post)),
        ]
    );
    // The post's author is told once, about the comment, although also mentioned.
    assert_eq!(
        app.notifications(&ada).await,
        vec![("COMMENTED".to_owned(), cyd.id, Some(post))]
    );
    assert!(app.notifications(&cyd).await.is_empty());
}

#[tokio::test]
async fn a_redelivered_event_creates_one_notification() {
    let app = spawn().await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    let event = app.follow(&bob, &ada).await;

    // The consumer's inbox has it: a redelivery is a duplicate.
    let notifier = Arc::new(agora_messaging::events::Notifier {
        live: agora_messaging::live::Live::new(app.stack.bus().live()),
    });
    let mut consumer = Consumer::open(
        app.db.clone(),
        app.stack.bus(),
        agora_messaging::social_consumer(),
        notifier.clone(),
    )
    .await
    .expect("consumer");
    assert_eq!(
        consumer.apply(&event).await.expect("applied"),
        Outcome::Duplicate
    );
    // Even past the inbox, the handler writes one notification per recipient and event.
    // Retried as the consumer retries: SQLite refuses a write whose snapshot another
    // writer (the running service) overtook.
    for attempt in 1.. {
        let txn = app.db.begin().await.expect("transaction");
        match notifier.handle(&txn, &event).await {
            Ok(()) => {
                txn.commit().await.expect("commit");
                break;
            }
            Err(HandlerError::Retry(_)) if attempt < 50 => {
                drop(txn);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("handled: {error:?}"),
        }
    }

    assert_eq!(app.notifications(&ada).await.len(), 1);
}

#[tokio::test]
async fn notifications_are_marked_read_by_id_or_all_and_others_ids_change_nothing() {
    let app = spawn().await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    app.follow(&bob, &ada).await;
    app.follow(&ada, &bob).await;
    app.like(&bob, Uuid::now_v7(), &ada).await;
    let data = app
        .messaging
        .ok(Some(&ada), NOTIFICATIONS, json!({ "first": 1 }))
        .await;
    let newest = data["notifications"]["edges"][0]["node"]["id"].clone();
    let bobs = app
        .messaging
        .ok(Some(&bob), NOTIFICATIONS, json!({}))
        .await["notifications"]["edges"][0]["node"]["id"]
        .clone();
    let mark = "mutation($input: MarkNotificationsReadInput!) {
        markNotificationsRead(input: $input) { markedCount unreadNotificationCount } }";

    let by_id = app
        .messaging
        .ok(
            Some(&ada),
            mark,
            json!({ "input": { "ids": [newest, bobs] } }),
        )
        .await;
    let unread = app
        .messaging
        .ok(Some(&ada), NOTIFICATIONS, json!({ "unread": true }))
        .await;
    let all = app
        .messaging
        .ok(Some(&ada), mark, json!({ "input": { "all": true } }))
        .await;
    let neither = app
        .messaging
        .gql(Some(&ada), mark, json!({ "input": {} }))
        .await;

    assert_eq!(
        by_id["markNotificationsRead"],
        json!({ "markedCount": 1, "unreadNotificationCount": 1 })
    );
    let edges = unread["notifications"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["kind"], "FOLLOWED");
    assert_eq!(
        all["markNotificationsRead"],
        json!({ "markedCount": 1, "unreadNotificationCount": 0 })
    );
    assert_eq!(
        error_of(&neither),
        ("BAD_USER_INPUT".into(), Some("ids".into()))
    );
    assert_eq!(app.unread_notifications(&bob).await, 1);
}

#[tokio::test]
async fn notifications_page_by_cursor_without_gaps_or_repeats() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let fans = [
        app.member("fan_one").await,
        app.member("fan_two").await,
        app.member("fan_three").await,
    ];
    for fan in &fans {
        app.follow(fan, &ada).await;
    }

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .messaging
            .ok(
                Some(&ada),
                NOTIFICATIONS,
                json!({ "first": 2, "after": after }),
            )
            .await;
        let connection = &data["notifications"];
        for edge in connection["edges"].as_array().expect("edges") {
            seen.push(uuid(&edge["node"]["actor"]["id"]));
            after = edge["cursor"].clone();
        }
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
    }

    let newest_first: Vec<Uuid> = fans.iter().rev().map(|fan| fan.id).collect();
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn starting_a_conversation_again_with_the_same_people_returns_the_same_one() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.member("ada").await,
        app.member("bob").await,
        app.member("cyd").await,
    );

    let first = app.conversation_with(&ada, &[&bob]).await;
    let again = app.conversation_with(&ada, &[&bob, &bob, &ada]).await;
    let from_bob = app.conversation_with(&bob, &[&ada]).await;
    let trio = app.conversation_with(&ada, &[&cyd, &bob]).await;

    assert_eq!(first, again);
    assert_eq!(first, from_bob);
    assert_ne!(first, trio);
    let participants = app.start(&cyd, &[&ada, &bob]).await["data"]["startConversation"]
        ["conversation"]["participants"]
        .as_array()
        .expect("participants")
        .len();
    assert_eq!(participants, 3);
}

#[tokio::test]
async fn a_conversation_needs_another_existing_user_and_names_the_field_otherwise() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let stranger = Member {
        id: Uuid::now_v7(),
        token: String::new(),
    };

    let alone = app.start(&ada, &[&ada]).await;
    let unknown = app.start(&ada, &[&stranger]).await;
    let malformed = app
        .messaging
        .gql(Some(&ada), START, json!({ "ids": ["nope"] }))
        .await;

    for response in [alone, unknown, malformed] {
        assert_eq!(
            error_of(&response),
            ("BAD_USER_INPUT".into(), Some("participantIds".into())),
            "{response}"
        );
    }
}

#[tokio::test]
async fn messages_list_newest_first_and_unread_counts_follow_reading() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.member("ada").await,
        app.member("bob").await,
        app.member("cyd").await,
    );
    let with_bob = app.conversation_with(&ada, &[&bob]).await;
    let with_cyd = app.conversation_with(&ada, &[&cyd]).await;
    for body in ["one", "two", "three"] {
        app.send(&bob, &with_bob, body).await;
    }
    app.send(&cyd, &with_cyd, "hi ada").await;
    app.send(&ada, &with_bob, "  four  ").await;
    let query = "query($before: String) {
        conversations(first: 10) { nodes { id unreadCount lastMessage { body sender { id } } } }
        unreadMessageCount
        bob: conversation(id: \"ID\") { messages(first: 2, before: $before) {
            edges { cursor node { body } } pageInfo { hasNextPage } } }
    }"
    .replace("ID", &with_bob);

    let first = app.messaging.ok(Some(&ada), &query, json!({})).await;
    let cursor = first["bob"]["messages"]["edges"][1]["cursor"].clone();
    let older = app
        .messaging
        .ok(Some(&ada), &query, json!({ "before": cursor }))
        .await;
    let marked = app
        .messaging
        .ok(
            Some(&ada),
            "mutation($id: ID!) { markConversationRead(input: { conversationId: $id }) {
                conversation { unreadCount } } }",
            json!({ "id": with_cyd }),
        )
        .await;
    let bobs_view = app
        .messaging
        .ok(Some(&bob), "{ unreadMessageCount }", json!({}))
        .await;

    // Ada wrote last to bob, which read that conversation for her and moved it first.
    assert_eq!(
        first["conversations"]["nodes"],
        json!([
            { "id": with_bob, "unreadCount": 0, "lastMessage": { "body": "four", "sender": { "id": ada.id } } },
            { "id": with_cyd, "unreadCount": 1, "lastMessage": { "body": "hi ada", "sender": { "id": cyd.id } } },
        ])
    );
    assert_eq!(first["unreadMessageCount"], 1);
    let bodies = |data: &Value| -> Vec<String> {
        data["bob"]["messages"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| edge["node"]["body"].as_str().expect("body").to_owned())
            .collect()
    };
    assert_eq!(bodies(&first), ["four", "three"]);
    assert_eq!(first["bob"]["messages"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(bodies(&older), ["two", "one"]);
    assert_eq!(older["bob"]["messages"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        marked["markConversationRead"]["conversation"]["unreadCount"],
        0
    );
    assert_eq!(bobs_view["unreadMessageCount"], 1);
}

#[tokio::test]
async fn a_message_is_one_to_two_thousand_characters_and_names_the_body_otherwise() {
    let app = spawn().await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    let conversation = app.conversation_with(&ada, &[&bob]).await;

    let empty = app.send(&ada, &conversation, "   ").await;
    let long = app.send(&ada, &conversation, &"é".repeat(2_001)).await;
    let longest = app.send(&ada, &conversation, &"é".repeat(2_000)).await;

    for response in [empty, long] {
        assert_eq!(
            error_of(&response),
            ("BAD_USER_INPUT".into(), Some("body".into()))
        );
    }
    assert!(longest.get("errors").is_none(), "{longest}");
}

#[tokio::test]
async fn a_non_participant_cannot_read_send_mark_or_subscribe() {
    let app = spawn().await;
    let (ada, bob, eve) = (
        app.member("ada").await,
        app.member("bob").await,
        app.member("eve").await,
    );
    let conversation = app.conversation_with(&ada, &[&bob]).await;
    app.send(&ada, &conversation, "between us").await;

    let read = app
        .messaging
        .gql(
            Some(&eve),
            "query($id: ID!) { conversation(id: $id) { messages { nodes { body } } } }",
            json!({ "id": conversation }),
        )
        .await;
    let sent = app.send(&eve, &conversation, "let me in").await;
    let marked = app
        .messaging
        .gql(
            Some(&eve),
            "mutation($id: ID!) { markConversationRead(input: { conversationId: $id }) {
                conversation { id } } }",
            json!({ "id": conversation }),
        )
        .await;
    let mut socket = App::socket(&app.messaging, &eve).await;
    socket
        .subscribe("eve", MESSAGE_ADDED, json!({ "id": conversation }))
        .await;
    let subscribed = socket.next("eve", FRAME_WAIT).await;
    let listed = app
        .messaging
        .ok(
            Some(&eve),
            "{ conversations { nodes { id } } unreadMessageCount }",
            json!({}),
        )
        .await;

    for response in [&read, &sent, &marked, &subscribed] {
        assert_eq!(error_of(response).0, "NOT_FOUND", "{response}");
    }
    assert_eq!(
        listed,
        json!({ "conversations": { "nodes": [] }, "unreadMessageCount": 0 })
    );
}

#[tokio::test]
async fn without_a_valid_token_nothing_is_read_written_or_subscribed() {
    let app = spawn().await;
    let ada = app.member("ada").await;

    let anonymous = app
        .messaging
        .gql(None, "{ notifications { edges { cursor } } }", json!({}))
        .await;
    let forged = Member {
        id: ada.id,
        token: "not.a.token".to_owned(),
    };
    let with_forged = app
        .messaging
        .gql(Some(&forged), START, json!({ "ids": [] }))
        .await;
    let refused = Socket::connect(&app.messaging.url, Some("not.a.token")).await;
    let mut anonymous_socket = Socket::connect(&app.messaging.url, None)
        .await
        .expect("an anonymous connection is accepted");
    anonymous_socket
        .subscribe("anon", NOTIFICATION_ADDED, json!({}))
        .await;
    let unauthenticated = anonymous_socket.next("anon", FRAME_WAIT).await;

    assert_eq!(error_of(&anonymous).0, "UNAUTHENTICATED");
    assert_eq!(error_of(&with_forged).0, "UNAUTHENTICATED");
    assert!(refused.is_err(), "a bad token refuses the connection");
    assert_eq!(error_of(&unauthenticated).0, "UNAUTHENTICATED");
}

#[tokio::test]
async fn an_erased_account_loses_its_notifications_and_its_messages_become_a_deleted_users() {
    let app = spawn().await;
    let (ada, bob, cyd) = (
        app.member("ada").await,
        app.member("bob").await,
        app.member("cyd").await,
    );
    app.follow(&bob, &ada).await;
    app.follow(&ada, &bob).await;
    app.follow(&cyd, &bob).await;
    let conversation = app.conversation_with(&ada, &[&bob]).await;
    app.send(&bob, &conversation, "bye").await;

    let data = json!({ "id": bob.id });
    app.deliver(Envelope::new(
        "identity",
        "identity.user.deleted",
        bob.id,
        &data,
    ))
    .await;

    assert!(app.notifications(&ada).await.is_empty());
    let seen = app
        .messaging
        .ok(
            Some(&ada),
            "query($id: ID!) { conversation(id: $id) {
                participants { id } messages { nodes { body sender { id } } } } }",
            json!({ "id": conversation }),
        )
        .await;
    assert_eq!(
        seen["conversation"],
        json!({ "participants": [{ "id": ada.id }], "messages": { "nodes": [{ "body": "bye", "sender": null }] } })
    );
    // Erased accounts are no longer mentioned, followed or written to.
    app.follow(&bob, &ada).await;
    app.post(&cyd, "@bob?").await;
    assert!(app.notifications(&ada).await.is_empty());
    assert_eq!(
        error_of(&app.start(&ada, &[&bob]).await).1.as_deref(),
        Some("participantIds")
    );
    let confirmed: Vec<(String, Value)> = outbox(&app.db)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == "messaging.user.erased")
        .collect();
    assert_eq!(
        confirmed,
        [(
            "messaging.user.erased".to_owned(),
            json!({ "userId": bob.id })
        )]
    );
}

#[tokio::test]
async fn sending_a_message_enqueues_message_sent_for_the_other_participants() {
    let app = spawn().await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    let conversation = app.conversation_with(&ada, &[&bob]).await;

    app.send(&ada, &conversation, "hello").await;

    let events = outbox(&app.db).await;
    assert_eq!(events.len(), 1);
    let (event_type, payload) = &events[0];
    assert_eq!(event_type, "messaging.message.sent");
    assert_eq!(payload["conversationId"], conversation.as_str());
    assert_eq!(payload["senderId"], json!(ada.id));
    assert_eq!(payload["recipientIds"], json!([bob.id]));
    assert!(payload.get("body").is_none(), "the body stays in messaging");
}

#[tokio::test]
async fn a_subscriber_hears_of_a_notification_from_an_event_and_a_message_from_another_user() {
    let app = spawn().await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    let conversation = app.conversation_with(&ada, &[&bob]).await;
    let mut socket = App::socket(&app.messaging, &ada).await;
    socket
        .subscribe("told", NOTIFICATION_ADDED, json!({}))
        .await;
    socket
        .subscribe("chat", MESSAGE_ADDED, json!({ "id": conversation }))
        .await;
    app.stack
        .wait_for_listeners(&notification_topic(ada.id), 1)
        .await;
    app.stack
        .wait_for_listeners(&conversation_topic(uuid(&json!(conversation))), 1)
        .await;

    let post = Uuid::now_v7();
    app.like(&bob, post, &ada).await;
    app.send(&bob, &conversation, "did you see?").await;

    assert_eq!(
        socket.next("told", FRAME_WAIT).await,
        json!({ "data": { "notificationAdded": {
            "kind": "LIKED", "actor": { "id": bob.id }, "post": { "id": post }, "read": false,
        } } })
    );
    assert_eq!(
        socket.next("chat", FRAME_WAIT).await,
        json!({ "data": { "messageAdded": { "body": "did you see?", "sender": { "id": bob.id } } } })
    );
}

#[tokio::test]
async fn two_instances_each_deliver_to_their_own_subscribers_whoever_wrote_the_change() {
    let mut app = spawn().await;
    let other = app
        .stack
        .start_replica("messaging", agora_messaging::build)
        .await;
    let (ada, bob) = (app.member("ada").await, app.member("bob").await);
    let conversation = app.conversation_with(&ada, &[&bob]).await;
    let conversation_id = uuid(&json!(conversation));
    // Ada listens on the first instance, bob on the second.
    let mut adas = App::socket(&app.messaging, &ada).await;
    let mut bobs = App::socket(&other, &bob).await;
    adas.subscribe("chat", MESSAGE_ADDED, json!({ "id": conversation }))
        .await;
    bobs.subscribe("chat", MESSAGE_ADDED, json!({ "id": conversation }))
        .await;
    bobs.subscribe("told", NOTIFICATION_ADDED, json!({})).await;
    let topic = conversation_topic(conversation_id);
    app.stack.wait_for_listeners(&topic, 2).await;
    app.stack
        .wait_for_listeners(&notification_topic(bob.id), 1)
        .await;

    // Written through the first instance, and through the second.
    app.send(&ada, &conversation, "from the first").await;
    app.send(&bob, &conversation, "from the second").await;
    // Applied by whichever instance's consumer takes the event.
    app.follow(&ada, &bob).await;

    for socket in [&mut adas, &mut bobs] {
        let first = socket.next("chat", FRAME_WAIT).await;
        let second = socket.next("chat", FRAME_WAIT).await;
        assert_eq!(first["data"]["messageAdded"]["body"], "from the first");
        assert_eq!(second["data"]["messageAdded"]["body"], "from the second");
    }
    let told = bobs.next("told", FRAME_WAIT).await;
    assert_eq!(told["data"]["notificationAdded"]["kind"], "FOLLOWED");
    assert!(adas.silent("told", SILENCE).await, "ada did not subscribe");
    let _ = other;
}

#[tokio::test]
async fn a_stopping_service_closes_its_subscriptions_with_going_away() {
    let app = spawn().await;
    let ada = app.member("ada").await;
    let mut socket = App::socket(&app.messaging, &ada).await;
    socket
        .subscribe("told", NOTIFICATION_ADDED, json!({}))
        .await;
    app.stack
        .wait_for_listeners(&notification_topic(ada.id), 1)
        .await;

    app.stack.stop();
    let closed = socket.closed(FRAME_WAIT).await;
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (1001, "the service is shutting down")
    );
}

#[test]
fn the_committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    agora_kit::testing::assert_committed_schema(path, &agora_messaging::schema::sdl());
}

#[tokio::test]
async fn a_conversation_page_of_fifty_costs_as_many_statements_as_a_page_of_five() {
    use agora_messaging::messaging::Messaging;
    use agora_messaging::store::member;

    let mut env = TestEnv::new();
    let url = env.database_url("messaging").await;
    let mut db = agora_kit::db::connect::<agora_messaging_migration::Migrator>(&url)
        .await
        .expect("database");
    let statements = StatementCounter::attach(&mut db);
    let messaging = Arc::new(Messaging {
        db: db.clone(),
        outbox: Arc::new(tokio::sync::Notify::new()),
        live: agora_messaging::live::Live::new(Arc::new(agora_kit::events::LocalHub::new())),
    });
    let reader = Uuid::now_v7();
    member::insert(&db, reader, "reader").await.expect("member");
    for n in 0..60 {
        let friend = Uuid::now_v7();
        member::insert(&db, friend, &format!("friend_{n}"))
            .await
            .expect("member");
        let started = messaging
            .start_conversation(reader, &[friend])
            .await
            .expect("started");
        for body in ["hi", "hello"] {
            messaging
                .send_message(friend, started.id, body)
                .await
                .expect("sent");
        }
    }
    let schema = agora_messaging::schema::build(messaging);
    let page = |first: usize| {
        format!(
            "{{ conversations(first: {first}) {{ nodes {{
                id createdAt unreadCount participants {{ id }}
                lastMessage {{ body sender {{ id }} }}
                messages(first: 3) {{ nodes {{ body sender {{ id }} }} }}
            }} }} }}"
        )
    };
    let statements_for = |query: String| {
        let schema = schema.clone();
        let statements = statements.clone();
        async move {
            statements
                .fewest(|| async {
                    let request =
                        async_graphql::Request::new(query.clone()).data(agora_kit::auth::Viewer {
                            user_id: reader,
                            session_id: Uuid::now_v7(),
                        });
                    let response = schema.execute(request).await;
                    assert!(response.errors.is_empty(), "{:?}", response.errors);
                })
                .await
        }
    };

    let five = statements_for(page(5)).await;
    let fifty = statements_for(page(50)).await;

    assert!(five > 0, "statements are counted");
    assert_eq!(five, fifty);
}

/// A minimal SMTP server on port 0 for the mail tests: it refuses the first `refusals`
/// connections with a 421 greeting, then takes every mail and keeps its DATA.
struct SmtpServer {
    /// `smtp://127.0.0.1:<port>`.
    url: String,
    /// The DATA of every mail accepted.
    received: Arc<std::sync::Mutex<Vec<String>>>,
    /// Connections seen, refused ones included.
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl SmtpServer {
    async fn start(refusals: usize) -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("smtp://{}", listener.local_addr().expect("addr"));
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (kept, seen) = (received.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    if n < refusals {
                        let _ = write.write_all(b"421 4.3.2 not now, try later\r\n").await;
                        return;
                    }
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 test ESMTP\r\n").await;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(body) = data.as_mut() {
                            if line == "." {
                                kept.lock().expect("lock").push(std::mem::take(body));
                                data = None;
                                let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                            } else {
                                body.push_str(&line);
                                body.push('\n');
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "DATA" => {
                                data = Some(String::new());
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 OK\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Self {
            url,
            received,
            connections,
        }
    }

    /// Waits (bounded) for the first accepted mail.
    async fn first_mail(&self) -> String {
        for _ in 0..500 {
            if let Some(mail) = self.received.lock().expect("lock").first() {
                return mail.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no mail reached the SMTP server");
    }
}

#[tokio::test]
async fn a_verification_mail_reaches_the_smtp_server_after_it_refused_once() {
    use agora_messaging::store::email;
    use sea_orm::{ColumnTrait, QueryFilter};

    let smtp = SmtpServer::start(1).await;
    let mail = agora_messaging::mail::MailSettings {
        smtp_url: Some(smtp.url.clone()),
        from: "Agora <no-reply@agora.test>".to_owned(),
        web_url: "https://agora.test".to_owned(),
        mailbox: std::path::PathBuf::from("unused"),
        retry: agora_kit::events::Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(400),
        ),
    };
    let mut stack = Stack::new().await;
    stack.start("identity", agora_identity::build).await;
    stack
        .start("messaging", |settings, bus| {
            agora_messaging::build_with(settings, mail, bus)
        })
        .await;
    let db = stack
        .connect::<agora_messaging_migration::Migrator>("messaging")
        .await;

    let ada = stack.register("ada").await;
    let delivered = smtp.first_mail().await;

    assert!(delivered.contains("To: ada@example.org"), "{delivered}");
    assert!(
        delivered.contains("Subject: Confirm your email address for Agora"),
        "{delivered}"
    );
    assert!(
        delivered.contains("https://agora.test/verify-email?token="),
        "{delivered}"
    );
    assert!(smtp.connections.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    let mut sent = None;
    for _ in 0..500 {
        let row = email::Entity::find()
            .filter(email::Column::UserId.eq(ada.id))
            .one(&db)
            .await
            .expect("outbox")
            .expect("the mail is in the outbox");
        if row.sent_at.is_some() {
            sent = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let row = sent.expect("the mail is marked sent");
    assert_eq!(row.attempts, 1, "one refused attempt before delivery");
    assert_eq!(smtp.received.lock().expect("lock").len(), 1, "sent once");
}
