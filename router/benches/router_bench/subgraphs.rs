//! The bench's subgraphs: async-graphql federation subgraphs over in-memory data
//! generated once at start, deterministically, so every run serves the same bytes.
//!
//! Three hops of entities, each in its own subgraph: `accounts` owns users,
//! `posts` adds `User.posts`, `comments` adds `Post.comments`, whose `author` is a
//! `User` that only `accounts` can name. A deep query therefore goes accounts → posts →
//! comments → accounts, one batched `_entities` fetch per hop.

use std::sync::LazyLock;

use async_graphql::{
    ComplexObject, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject,
};

/// Users in all; comment authors are drawn from all of them.
const USERS: usize = 200;
/// Posts per user.
const POSTS_PER_USER: usize = 4;
/// Comments per post.
const COMMENTS_PER_POST: usize = 6;

struct UserRow {
    name: String,
    handle: String,
}

struct PostRow {
    author: usize,
    title: String,
    body: String,
}

struct CommentRow {
    author: usize,
    text: String,
}

/// Everything the subgraphs serve, indexed by position (`u7` is `users[7]`).
struct Data {
    users: Vec<UserRow>,
    posts: Vec<PostRow>,
    comments: Vec<CommentRow>,
}

static DATA: LazyLock<Data> = LazyLock::new(generate);

/// Generates the data now rather than inside the first timed request.
pub fn generate_data() {
    LazyLock::force(&DATA);
}

/// A linear congruential generator: deterministic and dependency-free.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn words(&mut self, count: usize) -> String {
        const WORDS: [&str; 12] = [
            "graph",
            "router",
            "entity",
            "federation",
            "latency",
            "plan",
            "subgraph",
            "batch",
            "agora",
            "query",
            "schema",
            "merge",
        ];
        (0..count)
            .map(|_| WORDS[self.below(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn generate() -> Data {
    let mut random = Lcg(42);
    let users = (0..USERS)
        .map(|i| UserRow {
            name: format!("User Number {i}"),
            handle: format!("user{i}"),
        })
        .collect();
    let posts = (0..USERS * POSTS_PER_USER)
        .map(|i| PostRow {
            author: i / POSTS_PER_USER,
            title: random.words(4),
            body: random.words(12),
        })
        .collect();
    let comments = (0..USERS * POSTS_PER_USER * COMMENTS_PER_POST)
        .map(|_| CommentRow {
            author: random.below(USERS),
            text: random.words(6),
        })
        .collect();
    Data {
        users,
        posts,
        comments,
    }
}

/// Reads the index out of an id such as `u7`.
fn index(id: &ID, prefix: char, len: usize) -> Option<usize> {
    id.strip_prefix(prefix)?
        .parse()
        .ok()
        .filter(|&index| index < len)
}

// ---- accounts -------------------------------------------------------------------------

/// accounts' `User`: names and handles.
pub struct User(usize);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(format!("u{}", self.0))
    }

    async fn name(&self) -> &str {
        &DATA.users[self.0].name
    }

    async fn handle(&self) -> &str {
        &DATA.users[self.0].handle
    }
}

pub struct AccountsQuery;

#[Object(name = "Query")]
impl AccountsQuery {
    /// The first `first` users.
    async fn users(&self, first: usize) -> Vec<User> {
        (0..first.min(USERS)).map(User).collect()
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        index(&id, 'u', USERS).map(User)
    }
}

pub type Accounts = Schema<AccountsQuery, EmptyMutation, EmptySubscription>;

pub fn accounts() -> Accounts {
    Schema::build(AccountsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

// ---- posts ----------------------------------------------------------------------------

/// posts' view of `User`: the key, and the user's posts.
#[derive(SimpleObject)]
#[graphql(name = "User", complex)]
pub struct PostsUser {
    id: ID,
}

#[ComplexObject]
impl PostsUser {
    async fn posts(&self) -> Vec<Post> {
        let Some(user) = index(&self.id, 'u', USERS) else {
            return Vec::new();
        };
        (user * POSTS_PER_USER..(user + 1) * POSTS_PER_USER)
            .map(Post)
            .collect()
    }
}

/// posts' `Post`.
pub struct Post(usize);

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID(format!("p{}", self.0))
    }

    async fn title(&self) -> &str {
        &DATA.posts[self.0].title
    }

    async fn body(&self) -> &str {
        &DATA.posts[self.0].body
    }

    async fn author(&self) -> PostsUser {
        PostsUser {
            id: ID(format!("u{}", DATA.posts[self.0].author)),
        }
    }
}

pub struct PostsQuery;

#[Object(name = "Query")]
impl PostsQuery {
    async fn post(&self, id: ID) -> Option<Post> {
        index(&id, 'p', DATA.posts.len()).map(Post)
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> PostsUser {
        PostsUser { id }
    }

    #[graphql(entity)]
    async fn find_post_by_id(&self, id: ID) -> Option<Post> {
        index(&id, 'p', DATA.posts.len()).map(Post)
    }
}

pub type Posts = Schema<PostsQuery, EmptyMutation, EmptySubscription>;

pub fn posts() -> Posts {
    Schema::build(PostsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

// ---- comments -------------------------------------------------------------------------

/// comments' view of `User`: only the key, to point at a comment's author.
#[derive(SimpleObject)]
#[graphql(name = "User")]
pub struct CommentsUser {
    id: ID,
}

/// comments' view of `Post`: the key, and the post's comments.
#[derive(SimpleObject)]
#[graphql(name = "Post", complex)]
pub struct CommentsPost {
    id: ID,
}

#[ComplexObject]
impl CommentsPost {
    async fn comments(&self) -> Vec<Comment> {
        let Some(post) = index(&self.id, 'p', DATA.posts.len()) else {
            return Vec::new();
        };
        (post * COMMENTS_PER_POST..(post + 1) * COMMENTS_PER_POST)
            .map(Comment)
            .collect()
    }
}

/// comments' `Comment`.
pub struct Comment(usize);

#[Object]
impl Comment {
    async fn id(&self) -> ID {
        ID(format!("c{}", self.0))
    }

    async fn text(&self) -> &str {
        &DATA.comments[self.0].text
    }

    async fn author(&self) -> CommentsUser {
        CommentsUser {
            id: ID(format!("u{}", DATA.comments[self.0].author)),
        }
    }
}

pub struct CommentsQuery;

#[Object(name = "Query")]
impl CommentsQuery {
    async fn comment(&self, id: ID) -> Option<Comment> {
        index(&id, 'c', DATA.comments.len()).map(Comment)
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> CommentsUser {
        CommentsUser { id }
    }

    #[graphql(entity)]
    async fn find_post_by_id(&self, id: ID) -> CommentsPost {
        CommentsPost { id }
    }
}

pub type Comments = Schema<CommentsQuery, EmptyMutation, EmptySubscription>;

pub fn comments() -> Comments {
    Schema::build(CommentsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}
