//! Private accounts through the router: profiles owns the setting, social turns follows
//! of a private account into requests that the account accepts or declines, and hides
//! its followers and following from everyone but itself and its followers.

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, error_code, spawn};

const SET_PRIVATE: &str = "mutation($p: Boolean!) {
    updateProfile(input: { isPrivate: $p }) { user { isPrivate } }
}";
const FOLLOW: &str = "mutation($id: ID!) {
    follow(input: { userId: $id }) { requested user { viewerIsFollowing viewerHasRequestedToFollow } }
}";
const ACCEPT: &str =
    "mutation($id: ID!) { acceptFollowRequest(input: { userId: $id }) { user { id } } }";
const DECLINE: &str =
    "mutation($id: ID!) { declineFollowRequest(input: { userId: $id }) { user { id } } }";
const REQUESTS: &str = "{ me { followRequests(first: 10) { nodes { handle } } } }";
const FOLLOWS: &str = "query($h: String!) { userByHandle(handle: $h) {
    isPrivate followerCount
    followers(first: 10) { nodes { handle } }
    following(first: 10) { nodes { handle } }
} }";

/// The handles in a connection's `nodes`.
fn handles(connection: &Value) -> Vec<&str> {
    connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["handle"].as_str().expect("handle"))
        .collect()
}

/// `owner`'s followers and following as `viewer` sees them.
async fn follows(app: &TestApp, owner: &str, viewer: &Session) -> Value {
    app.ok(FOLLOWS, json!({ "h": owner }), viewer).await["userByHandle"].clone()
}

#[tokio::test]
async fn a_private_account_approves_its_followers_and_hides_its_follows_from_the_others() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let cyd = app.register("cyd").await;
    let dan = app.register("dan").await;
    for session in [&ada, &bob, &cyd, &dan] {
        app.wait_for_profile(&session.access_token).await;
    }
    // dan follows ada while she is public, and stays her follower.
    app.ok(FOLLOW, json!({ "id": ada.user_id }), &dan).await;

    let private = app.ok(SET_PRIVATE, json!({ "p": true }), &ada).await;
    assert_eq!(private["updateProfile"]["user"]["isPrivate"], true);
    // Social hears of it from profiles' event: until then cyd still sees dan.
    let hidden = app
        .eventually(FOLLOWS, json!({ "h": "ada" }), &cyd, |data| {
            handles(&data["userByHandle"]["followers"]).is_empty()
        })
        .await;
    assert_eq!(hidden["userByHandle"]["isPrivate"], true);
    assert_eq!(
        hidden["userByHandle"]["followerCount"], 1,
        "counts stay public"
    );

    let asked = app.ok(FOLLOW, json!({ "id": ada.user_id }), &bob).await;
    assert_eq!(
        asked["follow"],
        json!({ "requested": true, "user": { "viewerIsFollowing": false, "viewerHasRequestedToFollow": true } })
    );
    let pending = app.ok(REQUESTS, json!({}), &ada).await;
    assert_eq!(handles(&pending["me"]["followRequests"]), ["bob"]);
    app.ok(ACCEPT, json!({ "id": bob.user_id }), &ada).await;

    let again = app.ok(FOLLOW, json!({ "id": ada.user_id }), &bob).await;
    assert_eq!(again["follow"]["requested"], false);
    assert_eq!(again["follow"]["user"]["viewerIsFollowing"], true);
    let seen_by_bob = follows(&app, "ada", &bob).await;
    assert_eq!(handles(&seen_by_bob["followers"]), ["bob", "dan"]);

    let cyd_asks = app.ok(FOLLOW, json!({ "id": ada.user_id }), &cyd).await;
    assert_eq!(cyd_asks["follow"]["requested"], true);
    app.ok(DECLINE, json!({ "id": cyd.user_id }), &ada).await;
    let pending = app.ok(REQUESTS, json!({}), &ada).await;
    assert_eq!(
        handles(&pending["me"]["followRequests"]),
        Vec::<&str>::new()
    );
    let accept_declined = app
        .graphql(
            ACCEPT,
            json!({ "id": cyd.user_id }),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(
        error_code(&accept_declined),
        "NOT_FOUND",
        "{accept_declined}"
    );
    let seen_by_cyd = follows(&app, "ada", &cyd).await;
    assert_eq!(handles(&seen_by_cyd["followers"]), Vec::<&str>::new());
    assert_eq!(handles(&seen_by_cyd["following"]), Vec::<&str>::new());
    let prying = app
        .graphql(
            "query($h: String!) { userByHandle(handle: $h) { followRequests { nodes { id } } } }",
            json!({ "h": "ada" }),
            Some(&cyd.access_token),
        )
        .await;
    assert_eq!(error_code(&prying), "FORBIDDEN", "{prying}");

    let public = app.ok(SET_PRIVATE, json!({ "p": false }), &ada).await;
    assert_eq!(public["updateProfile"]["user"]["isPrivate"], false);
    let shown = app
        .eventually(FOLLOWS, json!({ "h": "ada" }), &cyd, |data| {
            !handles(&data["userByHandle"]["followers"]).is_empty()
        })
        .await;
    assert_eq!(handles(&shown["userByHandle"]["followers"]), ["bob", "dan"]);
    let follows_now = app.ok(FOLLOW, json!({ "id": ada.user_id }), &cyd).await;
    assert_eq!(follows_now["follow"]["requested"], false);
    assert_eq!(follows_now["follow"]["user"]["viewerIsFollowing"], true);
}
