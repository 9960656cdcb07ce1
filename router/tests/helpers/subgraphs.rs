//! Three small federation subgraphs written with async-graphql, as Agora's real ones
//! are: identity (users and handles), profiles (display names, bios) and content
//! (posts, and `User.posts`).

use async_graphql::{
    ComplexObject, Context, EmptySubscription, ErrorExtensions, ID, Object, Result, Schema,
    SimpleObject, Union,
};

/// The `Authorization` header a subgraph request carried, put into the GraphQL context.
pub struct Authorization(pub Option<String>);

struct UserRow {
    id: &'static str,
    handle: &'static str,
    display_name: Option<&'static str>,
}

const USERS: [UserRow; 3] = [
    UserRow {
        id: "u1",
        handle: "ada",
        display_name: Some("Ada Lovelace"),
    },
    UserRow {
        id: "u2",
        handle: "grace",
        display_name: Some("Grace Hopper"),
    },
    UserRow {
        id: "u3",
        handle: "alan",
        display_name: None,
    },
];

struct PostRow {
    id: &'static str,
    title: &'static str,
    author_id: &'static str,
}

const POSTS: [PostRow; 3] = [
    PostRow {
        id: "p1",
        title: "Notes on the Analytical Engine",
        author_id: "u1",
    },
    PostRow {
        id: "p2",
        title: "Compilers for everyone",
        author_id: "u2",
    },
    PostRow {
        id: "p3",
        title: "Bernoulli numbers",
        author_id: "u1",
    },
];

fn user_row(id: &str) -> Option<&'static UserRow> {
    USERS.iter().find(|user| user.id == id)
}

// ---- identity -------------------------------------------------------------------------

/// identity's `User`.
pub struct IdentityUser(&'static UserRow);

#[Object(name = "User")]
impl IdentityUser {
    async fn id(&self) -> ID {
        ID(self.0.id.to_owned())
    }

    async fn handle(&self) -> &str {
        self.0.handle
    }

    /// How many characters the handle has; answers with it may be reused for 60 s.
    #[graphql(cache_control(max_age = 60))]
    async fn handle_length(&self) -> usize {
        self.0.handle.len()
    }

    /// Always refused, to test that error codes reach the client.
    async fn secret(&self) -> Result<Option<String>> {
        Err(async_graphql::Error::new("You must be signed in")
            .extend_with(|_, extensions| extensions.set("code", "UNAUTHENTICATED")))
    }
}

pub struct IdentityQuery;

#[Object(name = "Query")]
impl IdentityQuery {
    async fn me(&self) -> Option<IdentityUser> {
        user_row("u1").map(IdentityUser)
    }

    async fn users(&self) -> Vec<IdentityUser> {
        USERS.iter().map(IdentityUser).collect()
    }

    async fn user(&self, id: ID) -> Option<IdentityUser> {
        user_row(&id).map(IdentityUser)
    }

    /// The `Authorization` header this subgraph received.
    async fn authorization(&self, context: &Context<'_>) -> Option<String> {
        context
            .data_opt::<Authorization>()
            .and_then(|authorization| authorization.0.clone())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<IdentityUser> {
        user_row(&id).map(IdentityUser)
    }
}

pub struct IdentityMutation;

#[Object(name = "Mutation")]
impl IdentityMutation {
    async fn rename_me(&self, handle: String) -> String {
        handle
    }

    /// Stands in for identity's `login`, one of the fields the router limits per
    /// attempt: true for the password `right`.
    async fn login(&self, password: String) -> bool {
        password == "right"
    }

    /// Stands in for identity's `register`.
    async fn register(&self, handle: String) -> String {
        handle
    }

    /// Stands in for identity's `requestPasswordReset`, which answers the same for
    /// every address.
    async fn request_password_reset(&self, email: String) -> bool {
        let _ = email;
        true
    }
}

pub fn identity() -> Schema<IdentityQuery, IdentityMutation, EmptySubscription> {
    Schema::build(IdentityQuery, IdentityMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

// ---- profiles -------------------------------------------------------------------------

/// profiles' `User`.
pub struct ProfileUser(&'static UserRow);

#[Object(name = "User")]
impl ProfileUser {
    async fn id(&self) -> ID {
        ID(self.0.id.to_owned())
    }

    async fn display_name(&self) -> Option<&str> {
        self.0.display_name
    }

    /// Fails for users without a profile, to test error paths through `_entities`.
    async fn bio(&self) -> Result<Option<String>> {
        match self.0.display_name {
            Some(name) => Ok(Some(format!("{name}'s bio"))),
            None => Err(async_graphql::Error::new("Profile not found")
                .extend_with(|_, extensions| extensions.set("code", "NOT_FOUND"))),
        }
    }

    /// Non-null, to test null propagation when profiles cannot answer.
    async fn since(&self) -> &str {
        "2024"
    }
}

pub struct ProfilesQuery;

#[Object(name = "Query")]
impl ProfilesQuery {
    async fn motd(&self) -> &str {
        "Welcome to Agora"
    }

    /// The message of the day after `millis` milliseconds, to test timeouts.
    async fn slow_motd(&self, millis: u64) -> &str {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        "Welcome, eventually"
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<ProfileUser> {
        user_row(&id).map(ProfileUser)
    }
}

pub fn profiles() -> Schema<ProfilesQuery, async_graphql::EmptyMutation, EmptySubscription> {
    Schema::build(
        ProfilesQuery,
        async_graphql::EmptyMutation,
        EmptySubscription,
    )
    .enable_federation()
    .finish()
}

// ---- content --------------------------------------------------------------------------

/// content's view of `User`: only the key, plus the posts it owns.
#[derive(SimpleObject)]
#[graphql(name = "User", complex)]
pub struct ContentUser {
    id: ID,
}

#[ComplexObject]
impl ContentUser {
    async fn posts(&self) -> Vec<Post> {
        POSTS
            .iter()
            .filter(|post| post.author_id == self.id.as_str())
            .map(Post)
            .collect()
    }
}

pub struct Post(&'static PostRow);

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID(self.0.id.to_owned())
    }

    async fn title(&self) -> &str {
        self.0.title
    }

    async fn author(&self) -> ContentUser {
        ContentUser {
            id: ID(self.0.author_id.to_owned()),
        }
    }
}

/// What a search finds: people and posts, to test abstract types.
#[derive(Union)]
pub enum SearchResult {
    User(ContentUser),
    Post(Post),
}

pub struct ContentQuery;

#[Object(name = "Query")]
impl ContentQuery {
    async fn posts(&self) -> Vec<Post> {
        POSTS.iter().map(Post).collect()
    }

    /// Everything whose id or title contains `term`.
    async fn search(&self, term: String) -> Vec<SearchResult> {
        let users = USERS
            .iter()
            .filter(|user| user.id.contains(&term))
            .map(|user| {
                SearchResult::User(ContentUser {
                    id: ID(user.id.to_owned()),
                })
            });
        let posts = POSTS
            .iter()
            .filter(|post| post.title.contains(&term))
            .map(|post| SearchResult::Post(Post(post)));
        users.chain(posts).collect()
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> ContentUser {
        ContentUser { id }
    }
}

pub fn content() -> Schema<ContentQuery, async_graphql::EmptyMutation, EmptySubscription> {
    Schema::build(
        ContentQuery,
        async_graphql::EmptyMutation,
        EmptySubscription,
    )
    .enable_federation()
    .finish()
}
