//! `agora seed`: fills a running platform with a believable social network through its
//! public API — users, follows, posts with hashtags, likes and comments — so benchmarks
//! and demos have data that went through every subgraph and event, as real use would.
//!
//! The data is deterministic for a given `--seed`. User `n` is [`credentials`]`(n)`,
//! which the bench binaries use to sign in.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, index};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::client::{ClientError, GraphqlClient};

/// How much to create, and how hard to push.
#[derive(Clone, Debug)]
pub struct SeedConfig {
    /// The router's GraphQL endpoint.
    pub url: String,
    /// Accounts to register (or sign in to, when they exist from an earlier run).
    pub users: usize,
    /// How many others each user follows.
    pub follows_per_user: usize,
    /// Posts, by authors chosen at random.
    pub posts: usize,
    /// Likes, each a distinct (user, post) pair.
    pub likes: usize,
    /// Comments, by users chosen at random on posts chosen at random.
    pub comments: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Seed of the random choices.
    pub seed: u64,
}

/// The sign-in details of seeded user `n`.
pub struct Credentials {
    /// `seed_<n>`, zero-padded.
    pub handle: String,
    /// `<handle>@seed.agora.test`.
    pub email: String,
    /// The password.
    pub password: String,
}

/// The sign-in details of seeded user `n` (counting from 0).
pub fn credentials(n: usize) -> Credentials {
    let handle = format!("seed_{n:05}");
    Credentials {
        email: format!("{handle}@seed.agora.test"),
        password: format!("{handle}-password"),
        handle,
    }
}

/// Why seeding stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// An operation failed.
    #[error("{step}: {source}")]
    Request {
        /// What was being created.
        step: &'static str,
        /// The failure.
        source: ClientError,
    },
    /// Events did not reach the feeds in time.
    #[error("the feeds did not catch up with the posts within {0:?}")]
    Lagging(Duration),
    /// The configuration asks for the impossible.
    #[error("{0}")]
    Config(String),
}

/// A signed-in seeded user.
struct User {
    /// Which seeded user ([`credentials`]).
    n: usize,
    id: String,
    /// The latest access token: seeding can outlast one ([`as_user`] signs in again).
    token: RwLock<String>,
}

impl User {
    fn token(&self) -> String {
        self.token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

const TAGS: [&str; 12] = [
    "rust",
    "graphql",
    "travel",
    "food",
    "music",
    "books",
    "cats",
    "running",
    "design",
    "photography",
    "gardening",
    "coffee",
];
const WORDS: [&str; 16] = [
    "today",
    "finally",
    "learned",
    "something",
    "new",
    "about",
    "the",
    "weekend",
    "and",
    "a",
    "little",
    "more",
    "coffee",
    "than",
    "planned",
    "again",
];

/// How long seeding waits for events to reach the subgraphs that consume them.
const PATIENCE: Duration = Duration::from_secs(600);

/// Creates everything `config` asks for and waits until the feeds have caught up.
pub async fn run(config: &SeedConfig) -> Result<(), SeedError> {
    if config.users < 2 || config.follows_per_user >= config.users {
        return Err(SeedError::Config(
            "need at least 2 users and fewer follows per user than users".into(),
        ));
    }
    if config.likes > config.users * config.posts {
        return Err(SeedError::Config(
            "more likes than (user, post) pairs".into(),
        ));
    }
    let client = GraphqlClient::new(&config.url);
    let mut rng = StdRng::seed_from_u64(config.seed);

    let users = in_parallel("users", config, 0..config.users, |n| sign_up(&client, n)).await?;
    let (client, users) = (&client, &users);

    let follows: Vec<(usize, usize)> = (0..config.users)
        .flat_map(|follower| {
            index::sample(&mut rng, config.users - 1, config.follows_per_user)
                .into_iter()
                .map(move |i| (follower, if i >= follower { i + 1 } else { i }))
                .collect::<Vec<_>>()
        })
        .collect();
    in_parallel("follows", config, follows.iter().copied(), |(from, to)| {
        as_user(
            client,
            &users[from],
            "mutation($id: ID!) { follow(input: { userId: $id }) { user { id } } }",
            json!({ "id": users[to].id }),
        )
    })
    .await?;

    let posts: Vec<(usize, String)> = (0..config.posts)
        .map(|_| (rng.random_range(0..config.users), post_body(&mut rng)))
        .collect();
    let post_ids = in_parallel("posts", config, posts.iter(), |(author, body)| {
        let create = as_user(
            client,
            &users[*author],
            "mutation($body: String!) { createPost(input: { body: $body }) { post { id } } }",
            json!({ "body": body }),
        );
        async move { Ok(id_of(&create.await?["createPost"]["post"])) }
    })
    .await?;
    if let (Some((author, _)), Some(last)) = (posts.last(), post_ids.last()) {
        let follower = follows.iter().find(|(_, to)| to == author).map(|(f, _)| *f);
        wait_for_feed(client, &users[follower.unwrap_or(*author)], last).await?;
    }

    let mut pairs = HashSet::with_capacity(config.likes);
    while pairs.len() < config.likes {
        pairs.insert((
            rng.random_range(0..config.users),
            rng.random_range(0..post_ids.len()),
        ));
    }
    let post_ids = &post_ids;
    in_parallel("likes", config, pairs, |(user, post)| {
        once_replicated(move || {
            as_user(
                client,
                &users[user],
                "mutation($id: ID!) { likePost(input: { postId: $id }) { post { id } } }",
                json!({ "id": post_ids[post] }),
            )
        })
    })
    .await?;

    let comments: Vec<(usize, usize, String)> = (0..config.comments)
        .map(|_| {
            (
                rng.random_range(0..config.users),
                rng.random_range(0..post_ids.len()),
                sentence(&mut rng, 4..12),
            )
        })
        .collect();
    in_parallel("comments", config, comments.iter(), |(user, post, body)| {
        as_user(
            client,
            &users[*user],
            "mutation($id: ID!, $body: String!) { addComment(input: { postId: $id, body: $body }) { comment { id } } }",
            json!({ "id": post_ids[*post], "body": body }),
        )
    })
    .await?;
    Ok(())
}

/// Registers seeded user `n`, or signs in when an earlier run registered it.
async fn sign_up(client: &GraphqlClient, n: usize) -> Result<User, ClientError> {
    let who = credentials(n);
    let registered = client
        .run(
            "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }",
            json!({ "input": { "email": who.email, "handle": who.handle, "password": who.password } }),
            None,
        )
        .await;
    let payload = match registered {
        Ok(data) => data["register"].clone(),
        Err(e) if e.code() == Some("BAD_USER_INPUT") => {
            let token = client.login(&who.handle, &who.password).await?;
            let me = client.run("{ me { id } }", json!({}), Some(&token)).await?;
            json!({ "accessToken": token, "user": me["me"] })
        }
        Err(e) => return Err(e),
    };
    Ok(User {
        n,
        id: id_of(&payload["user"]),
        token: RwLock::new(
            payload["accessToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
    })
}

/// Runs `query` as `user`; if the user's access token has expired (a big network takes
/// longer to seed than a token lives), signs in again and runs it once more.
async fn as_user(
    client: &GraphqlClient,
    user: &User,
    query: &str,
    variables: Value,
) -> Result<Value, ClientError> {
    match client
        .run(query, variables.clone(), Some(&user.token()))
        .await
    {
        Err(e) if e.code() == Some("UNAUTHENTICATED") => {
            let who = credentials(user.n);
            let token = client.login(&who.handle, &who.password).await?;
            token.clone_into(&mut user.token.write().unwrap_or_else(PoisonError::into_inner));
            client.run(query, variables, Some(&token)).await
        }
        done => done,
    }
}

/// Runs `request` again while it answers `NOT_FOUND`: social learns of posts from content's
/// events, and posts created in parallel need not reach it in the order they were listed.
async fn once_replicated<F, Fut>(request: F) -> Result<Value, ClientError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Value, ClientError>>,
{
    let started = std::time::Instant::now();
    loop {
        match request().await {
            Err(e) if e.code() == Some("NOT_FOUND") && started.elapsed() < PATIENCE => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            done => return done,
        }
    }
}

/// Polls `user`'s feed until it shows `post`: fan-out is done by an event consumer.
async fn wait_for_feed(client: &GraphqlClient, user: &User, post: &str) -> Result<(), SeedError> {
    let bar = ProgressBar::new_spinner().with_message("waiting for the feeds to catch up");
    bar.enable_steady_tick(Duration::from_millis(200));
    let started = std::time::Instant::now();
    while started.elapsed() < PATIENCE {
        let data = as_user(
            client,
            user,
            "{ feed(first: 100) { nodes { id } } }",
            json!({}),
        )
        .await
        .map_err(|source| SeedError::Request {
            step: "feed",
            source,
        })?;
        let nodes = data["feed"]["nodes"].as_array().into_iter().flatten();
        if nodes.map(id_of).any(|id| id == post) {
            bar.finish_with_message("feeds caught up");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(SeedError::Lagging(PATIENCE))
}

/// Runs `task` for every item with `config.concurrency` in flight, behind a progress
/// bar; returns the results in the items' order, or the first failure.
async fn in_parallel<I, T, F, Fut>(
    step: &'static str,
    config: &SeedConfig,
    items: I,
    task: F,
) -> Result<Vec<T>, SeedError>
where
    I: IntoIterator,
    I::IntoIter: ExactSizeIterator,
    F: Fn(I::Item) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let items = items.into_iter();
    let bar = ProgressBar::new(items.len() as u64).with_style(
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(step);
    let results = stream::iter(items.map(|item| {
        let bar = &bar;
        let done = task(item);
        async move {
            let result = done.await;
            bar.inc(1);
            result
        }
    }))
    .buffered(config.concurrency.max(1))
    .try_collect()
    .await
    .map_err(|source| SeedError::Request { step, source })?;
    bar.finish();
    Ok(results)
}

/// The `id` field of an object, or an empty string.
fn id_of(object: &Value) -> String {
    object["id"].as_str().unwrap_or_default().to_owned()
}

/// A short post with one or two hashtags.
fn post_body(rng: &mut StdRng) -> String {
    let count = rng.random_range(1..=2);
    let tags: Vec<String> = TAGS
        .choose_multiple(rng, count)
        .map(|tag| format!("#{tag}"))
        .collect();
    format!("{} {}", sentence(rng, 6..24), tags.join(" "))
}

/// Words picked at random, a length in `words`.
fn sentence(rng: &mut StdRng, words: std::ops::Range<usize>) -> String {
    let count = rng.random_range(words);
    let picked: Vec<&str> = (0..count)
        .filter_map(|_| WORDS.choose(rng).copied())
        .collect();
    let mut text = picked.join(" ");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    text
}
