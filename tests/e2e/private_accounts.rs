//! Private accounts through the router: profiles owns the setting, social turns follows
//! of a private account into requests that the account accepts or declines, and hides
//! its followers and following from everyone but itself and its followers; content
//! hides its posts and comments from them too.

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
const UNFOLLOW: &str = "mutation($id: ID!) { unfollow(input: { userId: $id }) { user { id } } }";
const CREATE_POST: &str =
    "mutation($body: String!) { createPost(input: { body: $body }) { post { id } } }";
const COMMENT: &str = "mutation($id: ID!, $body: String!) {
    addComment(input: { postId: $id, body: $body }) { comment { id } } }";
/// What a viewer sees of Ada's writing: her post `$post` by id, among her posts and in a
/// search, and her comment under Cyd's post `$cydPost`.
const WRITING: &str = "query($post: ID!, $cydPost: ID!) {
    post(id: $post) { id }
    userByHandle(handle: \"ada\") { posts { nodes { id } } }
    searchPosts(query: \"secretive\") { nodes { id } }
    cydPost: post(id: $cydPost) { comments { nodes { author { id } } } }
}";
/// Every row of [`traces`].
const ALL_OF_IT: &[&str] = &["post by id", "her posts", "post search", "comments"];
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

/// The ids in a connection's `nodes`, or of their `author`s.
fn ids(connection: &Value) -> Vec<&str> {
    connection["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|node| node["id"].as_str().or(node["author"]["id"].as_str()))
                .collect()
        })
        .unwrap_or_default()
}

/// The rows of [`WRITING`] in which the viewer sees Ada's post `post` or her comment.
fn traces<'a>(seen: &Value, ada: &Session, post: &str) -> Vec<&'a str> {
    let rows = [
        ("post by id", !seen["post"].is_null()),
        (
            "her posts",
            ids(&seen["userByHandle"]["posts"]).contains(&post),
        ),
        ("post search", ids(&seen["searchPosts"]).contains(&post)),
        (
            "comments",
            ids(&seen["cydPost"]["comments"]).contains(&ada.user_id.as_str()),
        ),
    ];
    rows.into_iter()
        .filter(|(_, shown)| *shown)
        .map(|(row, _)| row)
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

#[tokio::test]
async fn a_private_accounts_posts_and_comments_are_for_its_approved_followers_only() {
    let app = spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let cyd = app.register("cyd").await;
    for session in [&ada, &bob, &cyd] {
        app.wait_for_profile(&session.access_token).await;
    }
    let created = app
        .ok(CREATE_POST, json!({ "body": "cyd asks" }), &cyd)
        .await;
    let cyd_post = created["createPost"]["post"]["id"].clone();
    let body = json!({ "body": "ada writes something secretive" });
    let created = app.ok(CREATE_POST, body, &ada).await;
    let post = created["createPost"]["post"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reply = json!({ "id": cyd_post, "body": "ada replies" });
    app.ok(COMMENT, reply, &ada).await;
    let vars = json!({ "post": post, "cydPost": cyd_post });
    let all_of_it = |seen: &Value| traces(seen, &ada, &post) == ALL_OF_IT;
    let nothing = |seen: &Value| traces(seen, &ada, &post).is_empty();
    app.eventually(WRITING, vars.clone(), &bob, all_of_it).await;

    app.ok(SET_PRIVATE, json!({ "p": true }), &ada).await;
    // Content hears of it from profiles' event.
    app.eventually(WRITING, vars.clone(), &bob, nothing).await;
    for viewer in [&cyd, &bob] {
        let seen = app.ok(WRITING, vars.clone(), viewer).await;
        assert_eq!(traces(&seen, &ada, &post), Vec::<&str>::new(), "{seen}");
    }
    let signed_out = app.graphql(WRITING, vars.clone(), None).await;
    assert_eq!(
        traces(&signed_out["data"], &ada, &post),
        Vec::<&str>::new(),
        "{signed_out}"
    );
    let own = app.ok(WRITING, vars.clone(), &ada).await;
    assert_eq!(traces(&own, &ada, &post), ALL_OF_IT, "{own}");
    let refused = app
        .graphql(
            COMMENT,
            json!({ "id": post, "body": "hello?" }),
            Some(&cyd.access_token),
        )
        .await;
    assert_eq!(error_code(&refused), "NOT_FOUND", "{refused}");

    // A pending request shows nothing; once accepted, content hears of the follow.
    let asked = app.ok(FOLLOW, json!({ "id": ada.user_id }), &bob).await;
    assert_eq!(asked["follow"]["requested"], true);
    let seen = app.ok(WRITING, vars.clone(), &bob).await;
    assert_eq!(traces(&seen, &ada, &post), Vec::<&str>::new(), "{seen}");
    app.ok(ACCEPT, json!({ "id": bob.user_id }), &ada).await;
    app.eventually(WRITING, vars.clone(), &bob, all_of_it).await;
    let seen = app.ok(WRITING, vars.clone(), &cyd).await;
    assert_eq!(traces(&seen, &ada, &post), Vec::<&str>::new(), "{seen}");

    app.ok(UNFOLLOW, json!({ "id": ada.user_id }), &bob).await;
    app.eventually(WRITING, vars.clone(), &bob, nothing).await;
}
