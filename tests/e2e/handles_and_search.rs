//! Handle changes and user search through the router: a new handle resolves at once and
//! reaches profiles' search and messaging's mentions, the old one is free for others, a
//! second change within 30 days is refused; search finds by prefix and by a typo, ranked,
//! and never across a block, which also hides the profile both ways.
//!
//! Across a block a user is not revealed: profiles answers as for a user without a
//! profile (`displayName`, `bio`... null; `searchUsers` never finds them), while identity
//! still resolves the id and handle the viewer already knows.

use agora_messaging::store::member;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{REGISTER, Session, TestApp, error_code, password, spawn};

const CHANGE_HANDLE: &str =
    "mutation($h: String!) { changeHandle(input: { handle: $h }) { user { id handle } } }";
const BY_HANDLE: &str =
    "query($h: String!) { userByHandle(handle: $h) { id handle displayName bio } }";
const SEARCH: &str = "query($q: String!) {
    searchUsers(query: $q, first: 10) { nodes { handle displayName } }
}";
const UPDATE: &str = "mutation($input: UpdateProfileInput!) {
    updateProfile(input: $input) { user { displayName } }
}";
const BLOCK: &str =
    "mutation($id: ID!) { blockUser(input: { userId: $id }) { user { viewerHasBlocked } } }";
const UNBLOCK: &str =
    "mutation($id: ID!) { unblockUser(input: { userId: $id }) { user { viewerHasBlocked } } }";
const CREATE_POST: &str =
    "mutation($body: String!) { createPost(input: { body: $body }) { post { id } } }";
const NOTIFICATIONS: &str = "{ notifications(first: 20) { nodes { kind actor { id } } } }";

/// Registers `handle` and waits until its profile exists.
async fn member(app: &TestApp, handle: &str) -> Session {
    let session = app.register(handle).await;
    app.wait_for_profile(&session.access_token).await;
    session
}

fn handles(data: &Value) -> Vec<&str> {
    data["searchUsers"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["handle"].as_str().expect("handle"))
        .collect()
}

#[tokio::test]
async fn a_changed_handle_resolves_everywhere_frees_the_old_one_and_waits_30_days_to_change_again()
{
    let app = spawn().await;
    let ada = member(&app, "ada").await;
    let bob = member(&app, "bob").await;

    let changed = app
        .ok(CHANGE_HANDLE, json!({ "h": "countess" }), &ada)
        .await;
    assert_eq!(changed["changeHandle"]["user"]["handle"], "countess");

    // Identity answers at once; profiles follows from the event, and the display name
    // that was only the default follows the handle.
    let found = app
        .eventually(BY_HANDLE, json!({ "h": "countess" }), &bob, |data| {
            data["userByHandle"]["displayName"] == "countess"
        })
        .await;
    assert_eq!(found["userByHandle"]["id"], ada.user_id);
    let old = app.ok(BY_HANDLE, json!({ "h": "ada" }), &bob).await;
    assert!(old["userByHandle"].is_null(), "{old}");
    let searched = app
        .eventually(SEARCH, json!({ "q": "countess" }), &bob, |data| {
            handles(data) == ["countess"]
        })
        .await;
    assert_eq!(
        searched["searchUsers"]["nodes"][0]["displayName"],
        "countess"
    );

    // The old handle is free for someone else at once.
    let input =
        json!({ "email": "newcomer@example.org", "handle": "ada", "password": password("ada") });
    let newcomer = app.graphql(REGISTER, json!({ "input": input }), None).await;
    let newcomer_id = newcomer["data"]["register"]["user"]["id"].clone();
    assert!(newcomer_id.is_string(), "{newcomer}");
    let taken_over = app.ok(BY_HANDLE, json!({ "h": "ada" }), &bob).await;
    assert_eq!(taken_over["userByHandle"]["id"], newcomer_id);

    let again = app
        .graphql(
            CHANGE_HANDLE,
            json!({ "h": "ada_again" }),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT", "{again}");
    assert_eq!(again["errors"][0]["extensions"]["field"], "handle");
    let message = again["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("30 days"), "{message}");

    // Messaging's mentions follow the new handle once it has replicated it.
    let messaging = app.database("messaging").await;
    let ada_id = uuid::Uuid::parse_str(&ada.user_id).expect("id");
    for _ in 0..200 {
        let row = member::Entity::find_by_id(ada_id)
            .one(&messaging)
            .await
            .expect("member");
        if row.and_then(|row| row.handle).as_deref() == Some("countess") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.ok(CREATE_POST, json!({ "body": "hello @countess" }), &bob)
        .await;
    app.eventually(NOTIFICATIONS, json!({}), &ada, |data| {
        data["notifications"]["nodes"]
            .as_array()
            .is_some_and(|nodes| {
                nodes.iter().any(|node| {
                    node["kind"] == "MENTIONED" && node["actor"]["id"] == json!(bob.user_id)
                })
            })
    })
    .await;
}

#[tokio::test]
async fn search_finds_by_prefix_and_by_a_typo_ranked_and_never_across_a_block() {
    let app = spawn().await;
    let ada = member(&app, "ada").await;
    let countess = member(&app, "ada_lovelace").await;
    member(&app, "adamant").await;
    let grace = member(&app, "grace").await;
    let name = json!({ "input": { "displayName": "Augusta Ada King", "bio": "poet of science" } });
    app.ok(UPDATE, name, &countess).await;

    let prefix = app.ok(SEARCH, json!({ "q": "ada" }), &grace).await;
    assert_eq!(handles(&prefix), ["ada", "ada_lovelace", "adamant"]);
    let typo = app.ok(SEARCH, json!({ "q": "lovelase" }), &grace).await;
    assert_eq!(handles(&typo), ["ada_lovelace"]);
    assert_eq!(
        typo["searchUsers"]["nodes"][0]["displayName"],
        "Augusta Ada King"
    );
    let word = app.ok(SEARCH, json!({ "q": "augusta" }), &grace).await;
    assert_eq!(handles(&word), ["ada_lovelace"]);

    let blocked = app
        .ok(BLOCK, json!({ "id": grace.user_id }), &countess)
        .await;
    assert_eq!(blocked["blockUser"]["user"]["viewerHasBlocked"], true);

    // Profiles learns of the block from social's event; then each side is hidden from
    // the other, in search and in the profile.
    app.eventually(SEARCH, json!({ "q": "ada" }), &grace, |data| {
        handles(data) == ["ada", "adamant"]
    })
    .await;
    let hidden = app
        .ok(BY_HANDLE, json!({ "h": "ada_lovelace" }), &grace)
        .await;
    assert_eq!(
        hidden["userByHandle"],
        json!({ "id": countess.user_id, "handle": "ada_lovelace", "displayName": null, "bio": null })
    );
    let other_way = app.ok(BY_HANDLE, json!({ "h": "grace" }), &countess).await;
    assert!(
        other_way["userByHandle"]["displayName"].is_null(),
        "{other_way}"
    );
    let search_back = app.ok(SEARCH, json!({ "q": "grace" }), &countess).await;
    assert!(handles(&search_back).is_empty(), "{search_back}");
    // Nobody else is affected.
    let others = app.ok(SEARCH, json!({ "q": "ada" }), &ada).await;
    assert_eq!(handles(&others), ["ada", "ada_lovelace", "adamant"]);
    let seen = app
        .ok(BY_HANDLE, json!({ "h": "ada_lovelace" }), &ada)
        .await;
    assert_eq!(seen["userByHandle"]["bio"], "poet of science");

    app.ok(UNBLOCK, json!({ "id": grace.user_id }), &countess)
        .await;
    let visible = app
        .eventually(BY_HANDLE, json!({ "h": "ada_lovelace" }), &grace, |data| {
            !data["userByHandle"]["bio"].is_null()
        })
        .await;
    assert_eq!(visible["userByHandle"]["displayName"], "Augusta Ada King");
    let found = app.ok(SEARCH, json!({ "q": "ada" }), &grace).await;
    assert_eq!(handles(&found), ["ada", "ada_lovelace", "adamant"]);
}
