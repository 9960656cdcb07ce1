//! `agora seed` against a platform: what it says it creates is there, through the API.

use agora::seed::{self, SeedConfig};
use serde_json::json;

use crate::helpers;

#[tokio::test]
async fn seeding_creates_the_users_follows_posts_and_likes_it_was_asked_for_and_can_run_again() {
    let app = helpers::spawn().await;
    let config = SeedConfig {
        url: app.url(),
        users: 6,
        follows_per_user: 2,
        posts: 15,
        likes: 20,
        comments: 9,
        concurrency: 4,
        seed: 7,
    };
    seed::run(&config).await.expect("seeding succeeds");

    let mut totals = (0, 0, 0, 0);
    for n in 0..config.users {
        let who = seed::credentials(n);
        let response = app
            .graphql(
                "query($handle: String!) { userByHandle(handle: $handle) {
                    followingCount postCount posts(first: 100) { nodes { likeCount commentCount } }
                } }",
                json!({ "handle": who.handle }),
                None,
            )
            .await;
        let user = &response["data"]["userByHandle"];
        assert_eq!(user["followingCount"], 2, "{response}");
        totals.0 += user["followingCount"].as_i64().unwrap_or_default();
        totals.1 += user["postCount"].as_i64().unwrap_or_default();
        for post in user["posts"]["nodes"].as_array().into_iter().flatten() {
            totals.2 += post["likeCount"].as_i64().unwrap_or_default();
            totals.3 += post["commentCount"].as_i64().unwrap_or_default();
        }
    }
    assert_eq!(totals, (12, 15, 20, 9));

    seed::run(&SeedConfig {
        posts: 1,
        likes: 0,
        comments: 0,
        ..config
    })
    .await
    .expect("existing users sign in instead");
}
