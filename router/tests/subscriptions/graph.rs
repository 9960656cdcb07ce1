//! The graph of this suite: three async-graphql subgraphs on port 0 and a router in
//! front of them, optionally validating JWTs against a JWKS served here.
//!
//! - notifications: `Subscription.notificationAdded(limit)` emits `Notification { id
//!   actor post }` from a broadcast channel that `Mutation.publish` feeds; `actor` and
//!   `post` are references only.
//! - users: `User { handle displayName }`; posts: `Post { body likeCount }`.
//!
//! Every subgraph serves HTTP POST and graphql-transport-ws on `/graphql`, and counts
//! what happens on its sockets in a `watch` channel the tests wait on (never sleep).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agora_router::{JwtConfig, RateLimit, RouterConfig, Server, SubgraphSdl, compose};
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{
    Context, Data, EmptyMutation, EmptySubscription, Executor, ID, Object, SDLExportOptions,
    Schema, SimpleObject, Subscription,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::Stream;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// How long a test waits for something it expects.
pub const WAIT: Duration = Duration::from_secs(10);

const ISSUER: &str = "agora-test";
const AUDIENCE: &str = "agora-router-test";

// ---- what a subgraph saw ---------------------------------------------------------------

/// What happened on a subgraph's WebSockets.
#[derive(Clone, Debug, Default)]
pub struct Sockets {
    /// Sockets opened.
    pub opened: usize,
    /// Sockets that ended.
    pub closed: usize,
    /// Subscription streams alive right now (dropped on `complete` or socket end).
    pub active: usize,
    /// Subscriptions started in total.
    pub started: usize,
    /// The `Authorization` header of each handshake.
    pub handshake_authorizations: Vec<Option<String>>,
    /// The payload of each `connection_init`.
    pub init_payloads: Vec<Value>,
}

/// A subgraph's socket counters, to read and to wait on.
#[derive(Clone)]
pub struct SocketStats(Arc<watch::Sender<Sockets>>);

impl SocketStats {
    fn new() -> Self {
        Self(Arc::new(watch::channel(Sockets::default()).0))
    }

    fn update(&self, change: impl FnOnce(&mut Sockets)) {
        self.0.send_modify(change);
    }

    pub fn now(&self) -> Sockets {
        self.0.borrow().clone()
    }

    /// Waits until the counters satisfy `condition`, failing after [`WAIT`].
    pub async fn wait_for(&self, what: &str, condition: impl Fn(&Sockets) -> bool) -> Sockets {
        let mut receiver = self.0.subscribe();
        match tokio::time::timeout(WAIT, receiver.wait_for(|sockets| condition(sockets))).await {
            Ok(Ok(sockets)) => sockets.clone(),
            _ => panic!("timed out waiting for {what}; sockets: {:?}", self.now()),
        }
    }
}

/// Keeps `active` right for as long as a subscription stream lives.
struct ActiveStream(SocketStats);

impl ActiveStream {
    fn new(stats: SocketStats) -> Self {
        stats.update(|sockets| {
            sockets.active += 1;
            sockets.started += 1;
        });
        Self(stats)
    }
}

impl Drop for ActiveStream {
    fn drop(&mut self) {
        self.0.update(|sockets| sockets.active -= 1);
    }
}

// ---- notifications ---------------------------------------------------------------------

#[derive(SimpleObject, Clone)]
#[graphql(name = "User", unresolvable = "id")]
struct UserRef {
    id: ID,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Post", unresolvable = "id")]
struct PostRef {
    id: ID,
}

#[derive(SimpleObject, Clone)]
struct Notification {
    id: ID,
    actor: UserRef,
    post: PostRef,
}

/// The notifications subgraph's shared state.
struct Hub {
    events: broadcast::Sender<Notification>,
    stats: SocketStats,
}

struct NotificationsQuery;

#[Object(name = "Query")]
impl NotificationsQuery {
    async fn unread(&self) -> i32 {
        3
    }
}

struct NotificationsMutation;

#[Object(name = "Mutation")]
impl NotificationsMutation {
    /// Emits a notification; returns how many subscription streams received it.
    async fn publish(&self, context: &Context<'_>, id: ID, actor: ID, post: ID) -> usize {
        let notification = Notification {
            id,
            actor: UserRef { id: actor },
            post: PostRef { id: post },
        };
        let hub = context.data_unchecked::<Hub>();
        hub.events.send(notification).unwrap_or(0)
    }
}

struct NotificationsSubscription;

#[Subscription(name = "Subscription")]
impl NotificationsSubscription {
    /// Notifications as they are published; ends after `limit` of them when given.
    async fn notification_added(
        &self,
        context: &Context<'_>,
        limit: Option<usize>,
    ) -> impl Stream<Item = Notification> + use<> {
        let hub = context.data_unchecked::<Hub>();
        let receiver = hub.events.subscribe();
        let active = ActiveStream::new(hub.stats.clone());
        futures::stream::unfold(
            (receiver, active, limit),
            |(mut receiver, active, remaining)| async move {
                if remaining == Some(0) {
                    return None;
                }
                loop {
                    match receiver.recv().await {
                        Ok(notification) => {
                            let remaining = remaining.map(|count| count - 1);
                            return Some((notification, (receiver, active, remaining)));
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        )
    }
}

// ---- users and posts -------------------------------------------------------------------

struct User {
    id: &'static str,
    handle: &'static str,
    display_name: &'static str,
}

const USERS: [User; 2] = [
    User {
        id: "u1",
        handle: "ada",
        display_name: "Ada Lovelace",
    },
    User {
        id: "u2",
        handle: "grace",
        display_name: "Grace Hopper",
    },
];

#[Object(name = "User")]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_owned())
    }

    async fn handle(&self) -> &str {
        self.handle
    }

    async fn display_name(&self) -> &str {
        self.display_name
    }
}

struct UsersQuery;

#[Object(name = "Query")]
impl UsersQuery {
    async fn user_count(&self) -> usize {
        USERS.len()
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<&'static User> {
        USERS.iter().find(|user| user.id == id.as_str())
    }
}

struct Post {
    id: &'static str,
    body: &'static str,
    like_count: i32,
}

const POSTS: [Post; 2] = [
    Post {
        id: "p1",
        body: "Notes on the Analytical Engine",
        like_count: 12,
    },
    Post {
        id: "p2",
        body: "Compilers for everyone",
        like_count: 7,
    },
];

#[Object(name = "Post")]
impl Post {
    async fn id(&self) -> ID {
        ID(self.id.to_owned())
    }

    async fn body(&self) -> &str {
        self.body
    }

    async fn like_count(&self) -> i32 {
        self.like_count
    }
}

struct PostsQuery;

#[Object(name = "Query")]
impl PostsQuery {
    async fn post_count(&self) -> usize {
        POSTS.len()
    }

    #[graphql(entity)]
    async fn find_post_by_id(&self, id: ID) -> Option<&'static Post> {
        POSTS.iter().find(|post| post.id == id.as_str())
    }
}

// ---- serving ---------------------------------------------------------------------------

/// One served subgraph.
pub struct Subgraph {
    name: &'static str,
    sdl: String,
    url: String,
    pub sockets: SocketStats,
    /// Cancelling it stops the server and drops every open socket.
    shutdown: CancellationToken,
}

impl Subgraph {
    /// Makes the subgraph go away: its server stops and its sockets drop.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

struct Served<E> {
    executor: E,
    sockets: SocketStats,
    shutdown: CancellationToken,
}

async fn http_request<E: Executor>(
    State(served): State<Arc<Served<E>>>,
    request: GraphQLRequest,
) -> GraphQLResponse {
    served.executor.execute(request.into_inner()).await.into()
}

async fn websocket<E: Executor>(
    State(served): State<Arc<Served<E>>>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let stats = served.sockets.clone();
            stats.update(|sockets| {
                sockets.opened += 1;
                sockets.handshake_authorizations.push(authorization);
            });
            let init_stats = stats.clone();
            let session = GraphQLWebSocket::new(socket, served.executor.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    init_stats.update(|sockets| sockets.init_payloads.push(payload));
                    Ok(Data::default())
                })
                .serve();
            tokio::select! {
                () = session => {}
                () = served.shutdown.cancelled() => {}
            }
            stats.update(|sockets| sockets.closed += 1);
        })
}

async fn serve<E: Executor>(
    name: &'static str,
    executor: E,
    sdl: String,
    sockets: SocketStats,
) -> Subgraph {
    let shutdown = CancellationToken::new();
    let app = axum::Router::new()
        .route("/graphql", get(websocket::<E>).post(http_request::<E>))
        .with_state(Arc::new(Served {
            executor,
            sockets: sockets.clone(),
            shutdown: shutdown.clone(),
        }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .unwrap();
    });
    Subgraph {
        name,
        sdl,
        url: format!("http://{address}/graphql"),
        sockets,
        shutdown,
    }
}

fn federation() -> SDLExportOptions {
    SDLExportOptions::new().federation()
}

// ---- tokens ----------------------------------------------------------------------------

/// An Ed25519 key, its JWKS served on port 0, and tokens signed with it.
pub struct Tokens {
    key: EncodingKey,
    jwks_url: String,
}

impl Tokens {
    async fn serve() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwks = json!({ "keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        }]});
        let app = axum::Router::new().route(
            "/jwks.json",
            get(move || {
                let jwks = jwks.clone();
                async move { axum::Json(jwks) }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwks_url: format!("http://{address}/jwks.json"),
        }
    }

    /// `Bearer <a valid token for subject>`.
    pub fn bearer(&self, subject: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600,
        });
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".to_owned());
        format!(
            "Bearer {}",
            jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
        )
    }
}

// ---- the graph -------------------------------------------------------------------------

/// How to start the graph.
#[derive(Default)]
pub struct Options {
    /// Validate JWTs in the router.
    pub auth: bool,
    /// Answer introspection.
    pub introspection: bool,
    /// A rate limit other than the router's default.
    pub rate_limit: Option<RateLimit>,
}

/// The router and its subgraphs.
pub struct Graph {
    /// `http://127.0.0.1:port/graphql`.
    pub url: String,
    pub notifications: Subgraph,
    pub users: Subgraph,
    pub posts: Subgraph,
    pub tokens: Option<Tokens>,
    http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Graph {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for subgraph in [&self.notifications, &self.users, &self.posts] {
            subgraph.stop();
        }
    }
}

impl Graph {
    pub async fn start(options: Options) -> Self {
        let sockets = SocketStats::new();
        let hub = Hub {
            events: broadcast::channel(16).0,
            stats: sockets.clone(),
        };
        let notifications = Schema::build(
            NotificationsQuery,
            NotificationsMutation,
            NotificationsSubscription,
        )
        .data(hub)
        .enable_federation()
        .enable_subscription_in_federation()
        .finish();
        let sdl = notifications.sdl_with_options(federation());
        // The hub counts subscription streams on the subgraph's socket counters.
        let notifications_served = serve("notifications", notifications, sdl, sockets).await;
        let users = Schema::build(UsersQuery, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish();
        let sdl = users.sdl_with_options(federation());
        let users = serve("users", users, sdl, SocketStats::new()).await;
        let posts = Schema::build(PostsQuery, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish();
        let sdl = posts.sdl_with_options(federation());
        let posts = serve("posts", posts, sdl, SocketStats::new()).await;

        let subgraphs = [&notifications_served, &users, &posts];
        let sdls: Vec<SubgraphSdl> = subgraphs
            .iter()
            .map(|subgraph| SubgraphSdl {
                name: subgraph.name.to_owned(),
                url: format!("http://{}.invalid/graphql", subgraph.name),
                sdl: subgraph.sdl.clone(),
            })
            .collect();
        let supergraph_sdl = match compose(&sdls) {
            Ok(sdl) => sdl,
            Err(errors) => panic!("the subgraphs do not compose: {errors:#?}"),
        };
        let tokens = if options.auth {
            Some(Tokens::serve().await)
        } else {
            None
        };
        let config = RouterConfig {
            supergraph_sdl,
            listen: "127.0.0.1:0".parse().unwrap(),
            subgraph_urls: subgraphs
                .iter()
                .map(|subgraph| (subgraph.name.to_owned(), subgraph.url.clone()))
                .collect::<HashMap<_, _>>(),
            introspection: options.introspection,
            auth: tokens
                .as_ref()
                .map(|tokens| JwtConfig::new(&tokens.jwks_url, ISSUER, AUDIENCE)),
            rate_limit: options.rate_limit.or(RouterConfig::default().rate_limit),
            ..RouterConfig::default()
        };
        let server = Server::bind(config).await.expect("the router starts");
        let url = format!("http://{}/graphql", server.local_addr());
        let shutdown = CancellationToken::new();
        tokio::spawn(server.run(shutdown.clone()));
        Self {
            url,
            notifications: notifications_served,
            users,
            posts,
            tokens,
            http: reqwest::Client::new(),
            shutdown,
        }
    }

    /// A valid `Authorization` value for `subject`; the graph must have auth on.
    pub fn bearer(&self, subject: &str) -> String {
        self.tokens
            .as_ref()
            .expect("the graph validates tokens")
            .bearer(subject)
    }

    /// Publishes a notification through the router; returns how many subscription
    /// streams on the subgraph received it.
    pub async fn publish(&self, id: &str, actor: &str, post: &str) -> u64 {
        let body = self
            .post(json!({
                "query": "mutation($id: ID!, $actor: ID!, $post: ID!) { publish(id: $id, actor: $actor, post: $post) }",
                "variables": { "id": id, "actor": actor, "post": post },
            }))
            .await;
        body["data"]["publish"]
            .as_u64()
            .unwrap_or_else(|| panic!("publish failed: {body}"))
    }

    /// POSTs a GraphQL request as JSON and returns the JSON body.
    pub async fn post(&self, body: Value) -> Value {
        self.http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Stops the router as SIGTERM would.
    pub fn stop_router(&self) {
        self.shutdown.cancel();
    }

    /// The HTTP client, for requests the helpers do not cover.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
