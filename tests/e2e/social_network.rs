//! Content and social through the router, as two users of the app: following, posting,
//! the home feed with authors, counts and comments from four subgraphs, liking,
//! commenting, deleting; and every mutation attempted by someone who may not do it.

use crate::helpers::{self, TestApp, error_code};
use serde_json::{Value, json};

const FOLLOW: &str = "mutation($id: ID!) { follow(input: { userId: $id }) { user { id followerCount viewerIsFollowing } } }";
const CREATE_POST: &str =
    "mutation($body: String!) { createPost(input: { body: $body }) { post { id tags } } }";
const LIKE: &str =
    "mutation($id: ID!) { likePost(input: { postId: $id }) { post { likeCount viewerHasLiked } } }";
const COMMENT: &str = "mutation($id: ID!, $body: String!) { addComment(input: { postId: $id, body: $body }) { comment { id } } }";
const FEED: &str = "{ feed(first: 20) { nodes {
    id body tags
    author { handle displayName }
    likeCount viewerHasLiked commentCount
    comments(first: 3) { nodes { author { handle } body } }
} } }";
const SEARCH: &str = "query($q: String!) { searchPosts(query: $q, first: 10) { nodes { id } } }";

#[tokio::test]
async fn a_followed_users_post_reaches_the_feed_gathers_likes_and_comments_and_leaves_when_deleted()
{
    a_post_reaches_the_feed_gathers_likes_and_comments_and_leaves(&helpers::spawn().await).await;
}

/// The end-to-end scenario: two users, a follow, a post in the feed with its author,
/// likes, comments and search from four subgraphs, then its deletion everywhere.
pub async fn a_post_reaches_the_feed_gathers_likes_and_comments_and_leaves(app: &TestApp) {
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    app.wait_for_profile(&ada.access_token).await;
    app.wait_for_profile(&bob.access_token).await;

    let followed = app.ok(FOLLOW, json!({ "id": bob.user_id }), &ada).await;
    assert_eq!(
        followed["follow"]["user"],
        json!({ "id": bob.user_id, "followerCount": 1, "viewerIsFollowing": true })
    );

    let created = app
        .ok(
            CREATE_POST,
            json!({ "body": "Ownership finally clicked #Rust" }),
            &bob,
        )
        .await;
    let post_id = created["createPost"]["post"]["id"].clone();
    assert_eq!(created["createPost"]["post"]["tags"], json!(["rust"]));

    let feed = app
        .eventually(FEED, json!({}), &ada, |data| {
            data["feed"]["nodes"]
                .as_array()
                .is_some_and(|n| !n.is_empty())
        })
        .await;
    assert_eq!(
        feed["feed"]["nodes"],
        json!([{
            "id": post_id,
            "body": "Ownership finally clicked #Rust",
            "tags": ["rust"],
            "author": { "handle": "bob", "displayName": "bob" },
            "likeCount": 0,
            "viewerHasLiked": false,
            "commentCount": 0,
            "comments": { "nodes": [] },
        }])
    );

    let liked = app.ok(LIKE, json!({ "id": post_id }), &ada).await;
    assert_eq!(
        liked["likePost"]["post"],
        json!({ "likeCount": 1, "viewerHasLiked": true })
    );
    app.ok(
        COMMENT,
        json!({ "id": post_id, "body": "Welcome to the club" }),
        &ada,
    )
    .await;

    let feed = app.ok(FEED, json!({}), &ada).await;
    let post = &feed["feed"]["nodes"][0];
    assert_eq!(post["likeCount"], 1);
    assert_eq!(post["viewerHasLiked"], true);
    assert_eq!(post["commentCount"], 1);
    assert_eq!(
        post["comments"]["nodes"],
        json!([{ "author": { "handle": "ada" }, "body": "Welcome to the club" }])
    );
    let bobs_view = app.ok(FEED, json!({}), &bob).await;
    assert_eq!(bobs_view["feed"]["nodes"][0]["viewerHasLiked"], false);
    assert_eq!(bobs_view["feed"]["nodes"][0]["likeCount"], 1);

    let found = app.ok(SEARCH, json!({ "q": "ownership" }), &ada).await;
    assert_eq!(found["searchPosts"]["nodes"], json!([{ "id": post_id }]));

    app.ok(
        "mutation($id: ID!) { deletePost(input: { postId: $id }) { deletedPostId } }",
        json!({ "id": post_id }),
        &bob,
    )
    .await;
    app.eventually(FEED, json!({}), &ada, |data| {
        data["feed"]["nodes"] == json!([])
    })
    .await;
    let found = app.ok(SEARCH, json!({ "q": "ownership" }), &ada).await;
    assert_eq!(found["searchPosts"]["nodes"], json!([]));
}

#[tokio::test]
async fn every_mutation_by_someone_who_may_not_do_it_is_refused_and_changes_nothing() {
    let app = helpers::spawn().await;
    let ada = app.register("ada").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let post = app
        .ok(CREATE_POST, json!({ "body": "Ada's post" }), &ada)
        .await;
    let post_id = post["createPost"]["post"]["id"].clone();
    let comment = app
        .ok(
            COMMENT,
            json!({ "id": post_id, "body": "Bob's comment" }),
            &bob,
        )
        .await;
    let comment_id = comment["addComment"]["comment"]["id"].clone();
    let snapshot = "query($id: ID!) { post(id: $id) { body editedAt commentCount likeCount comments(first: 10) { nodes { id body } } } }";
    let before = app.ok(snapshot, json!({ "id": post_id }), &ada).await;

    let signed_in = [
        (
            "mutation($p: ID!) { editPost(input: { postId: $p, body: \"hijacked\" }) { post { id } } }",
            "FORBIDDEN",
        ),
        (
            "mutation($p: ID!) { deletePost(input: { postId: $p }) { deletedPostId } }",
            "FORBIDDEN",
        ),
        (
            "mutation($c: ID!) { deleteComment(input: { commentId: $c }) { deletedCommentId } }",
            "FORBIDDEN",
        ),
        (
            "mutation($me: ID!) { follow(input: { userId: $me }) { user { id } } }",
            "BAD_USER_INPUT",
        ),
        (
            "mutation { likePost(input: { postId: \"00000000-0000-4000-8000-000000000000\" }) { post { id } } }",
            "NOT_FOUND",
        ),
        (
            "mutation { savePost(input: { postId: \"00000000-0000-4000-8000-000000000000\" }) { post { id } } }",
            "NOT_FOUND",
        ),
    ];
    let variables = json!({ "p": post_id, "c": comment_id, "me": eve.user_id });
    for (mutation, code) in signed_in {
        let response = app
            .graphql(mutation, variables.clone(), Some(&eve.access_token))
            .await;
        assert_eq!(error_code(&response), code, "{mutation}: {response}");
    }

    let anonymous = [
        "mutation { createPost(input: { body: \"hello\" }) { post { id } } }",
        "mutation($p: ID!) { addComment(input: { postId: $p, body: \"hi\" }) { comment { id } } }",
        "mutation($p: ID!) { editPost(input: { postId: $p, body: \"hijacked\" }) { post { id } } }",
        "mutation($p: ID!) { deletePost(input: { postId: $p }) { deletedPostId } }",
        "mutation($c: ID!) { deleteComment(input: { commentId: $c }) { deletedCommentId } }",
        "mutation($me: ID!) { follow(input: { userId: $me }) { user { id } } }",
        "mutation($me: ID!) { unfollow(input: { userId: $me }) { user { id } } }",
        "mutation($p: ID!) { likePost(input: { postId: $p }) { post { id } } }",
        "mutation($p: ID!) { unlikePost(input: { postId: $p }) { post { id } } }",
        "mutation($p: ID!) { savePost(input: { postId: $p }) { post { id } } }",
        "mutation($p: ID!) { unsavePost(input: { postId: $p }) { post { id } } }",
    ];
    for mutation in anonymous {
        let used: serde_json::Map<String, Value> = variables
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| mutation.contains(&format!("${name}:")))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let response = app.graphql(mutation, Value::Object(used), None).await;
        assert_eq!(
            error_code(&response),
            "UNAUTHENTICATED",
            "{mutation}: {response}"
        );
    }

    let after = app.ok(snapshot, json!({ "id": post_id }), &ada).await;
    assert_eq!(after, before, "refused mutations changed nothing");
    let eves_feed = app
        .ok(
            "{ feed { totalCount } savedPosts { totalCount } me { followingCount } }",
            json!({}),
            &eve,
        )
        .await;
    assert_eq!(
        eves_feed,
        json!({ "feed": { "totalCount": 0 }, "savedPosts": { "totalCount": 0 }, "me": { "followingCount": 0 } })
    );
}
