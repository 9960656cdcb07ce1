//! The router as a graphql-transport-ws client of its subgraphs.
//!
//! One WebSocket per (subgraph, `Authorization`) is shared by every client subscription
//! that needs it, each under its own subscribe id. A socket is opened by the first
//! subscription, carries the token in its handshake header and its `connection_init`
//! payload, and is closed when its last subscription is released (each release sends
//! `complete` first). A socket that fails or closes fails every subscription on it.
//!
//! Each socket is one task owning the connection; subscriptions talk to it through a
//! command channel and hear from it through their own bounded event channel. The pool
//! only counts who uses which socket, under one short lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{HeaderValue, header};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::RouterError;
use crate::execute::SubgraphResponse;
use crate::response::write_json;

/// The WebSocket subprotocol spoken on both sides of the router.
pub(crate) const PROTOCOL: &str = "graphql-transport-ws";

/// How long opening a socket (TCP, handshake, `connection_ack`) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Events buffered per subscription; a client that falls further behind loses its
/// subscription rather than holding up the others on the socket.
const EVENT_BUFFER: usize = 64;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The subgraphs' subscription endpoints and the sockets open to them.
pub(crate) struct Upstreams {
    /// Subgraph name → graphql-transport-ws URL.
    urls: HashMap<String, String>,
    pool: Arc<Pool>,
}

#[derive(Default)]
struct Pool {
    sockets: Mutex<HashMap<SocketKey, PooledSocket>>,
    /// Numbers sockets and subscribe ids, so neither is ever reused.
    next_id: AtomicU64,
}

/// Sockets are shared only between subscriptions with the same token, because the
/// subgraph authenticates the socket, not each subscription.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SocketKey {
    subgraph: String,
    authorization: Option<HeaderValue>,
}

struct PooledSocket {
    /// Tells a released subscription whether this is still the socket it used.
    socket_id: u64,
    commands: mpsc::UnboundedSender<Command>,
    /// Subscriptions using the socket; at zero it is closed.
    subscriptions: usize,
}

enum Command {
    Subscribe {
        id: String,
        /// `{"query": .., "variables": ..}`, already serialized.
        payload: Vec<u8>,
        events: mpsc::Sender<UpstreamEvent>,
    },
    Complete {
        id: String,
    },
    Close,
}

/// What a subgraph says about one subscription.
#[derive(Debug)]
pub(crate) enum UpstreamEvent {
    /// One result (`next`).
    Next(SubgraphResponse),
    /// The subgraph refused or failed the operation (`error`); it is over.
    Error(Vec<Value>),
    /// The subgraph completed the subscription.
    Complete,
    /// The socket failed or closed; the reason is safe to show clients.
    Failed(&'static str),
}

/// A client subscription's share of a socket. Dropping it releases the subscription.
pub(crate) struct UpstreamSubscription {
    pool: Arc<Pool>,
    key: SocketKey,
    socket_id: u64,
    id: String,
    events: mpsc::Receiver<UpstreamEvent>,
}

impl Upstreams {
    /// The subscription URL of every subgraph: its override, or its HTTP URL as `ws`.
    pub fn new(
        endpoints: &HashMap<String, String>,
        overrides: &HashMap<String, String>,
    ) -> Result<Self, RouterError> {
        let mut urls: HashMap<String, String> = endpoints
            .iter()
            .map(|(name, url)| (name.clone(), websocket_url(url)))
            .collect();
        for (name, url) in overrides {
            let slot = urls
                .get_mut(name)
                .ok_or_else(|| RouterError::UnknownSubgraph(name.clone()))?;
            slot.clone_from(url);
        }
        Ok(Self {
            urls,
            pool: Arc::default(),
        })
    }

    /// Subscribes on the subgraph's shared socket for this token, opening it if needed.
    /// `None` when the subgraph has no known URL.
    pub fn subscribe(
        &self,
        subgraph: &str,
        authorization: Option<&HeaderValue>,
        payload: Vec<u8>,
    ) -> Option<UpstreamSubscription> {
        let url = self.urls.get(subgraph)?;
        let key = SocketKey {
            subgraph: subgraph.to_owned(),
            authorization: authorization.cloned(),
        };
        let id = self.pool.next_id().to_string();
        let (events, receiver) = mpsc::channel(EVENT_BUFFER);
        let mut sockets = self.pool.lock();
        let socket = sockets.entry(key.clone()).or_insert_with(|| {
            let (commands, command_receiver) = mpsc::unbounded_channel();
            let socket_id = self.pool.next_id();
            tokio::spawn(
                Connection {
                    url: url.clone(),
                    key: key.clone(),
                    socket_id,
                    pool: Arc::clone(&self.pool),
                    commands: command_receiver,
                    routes: HashMap::new(),
                }
                .run(),
            );
            PooledSocket {
                socket_id,
                commands,
                subscriptions: 0,
            }
        });
        socket.subscriptions += 1;
        // A socket task that has just ended drops the command, and with it `events`:
        // the subscription then reports a failure.
        let _ = socket.commands.send(Command::Subscribe {
            id: id.clone(),
            payload,
            events,
        });
        let socket_id = socket.socket_id;
        drop(sockets);
        Some(UpstreamSubscription {
            pool: Arc::clone(&self.pool),
            key,
            socket_id,
            id,
            events: receiver,
        })
    }
}

impl UpstreamSubscription {
    /// The next event; after `Error`, `Complete` or `Failed` there are no more.
    pub async fn next(&mut self) -> UpstreamEvent {
        self.events
            .recv()
            .await
            .unwrap_or(UpstreamEvent::Failed("the subscription was dropped"))
    }
}

impl Drop for UpstreamSubscription {
    fn drop(&mut self) {
        let mut sockets = self.pool.lock();
        let Some(socket) = sockets.get_mut(&self.key) else {
            return;
        };
        if socket.socket_id != self.socket_id {
            return;
        }
        socket.subscriptions = socket.subscriptions.saturating_sub(1);
        let _ = socket.commands.send(Command::Complete {
            id: std::mem::take(&mut self.id),
        });
        if socket.subscriptions == 0 {
            let _ = socket.commands.send(Command::Close);
            sockets.remove(&self.key);
        }
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketKey, PooledSocket>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes a socket that ended out of the pool, unless it was already replaced.
    fn forget(&self, key: &SocketKey, socket_id: u64) {
        let mut sockets = self.lock();
        if sockets
            .get(key)
            .is_some_and(|socket| socket.socket_id == socket_id)
        {
            sockets.remove(key);
        }
    }
}

/// The task owning one socket.
struct Connection {
    url: String,
    key: SocketKey,
    socket_id: u64,
    pool: Arc<Pool>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Subscribe id → the subscription's events, for subscriptions still running.
    routes: HashMap<String, mpsc::Sender<UpstreamEvent>>,
}

/// One graphql-transport-ws message from the subgraph.
#[derive(Deserialize)]
struct ServerMessage {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<Value>,
}

impl Connection {
    async fn run(mut self) {
        let failure =
            match tokio::time::timeout(CONNECT_TIMEOUT, connect(&self.url, &self.key)).await {
                Ok(Ok(mut socket)) => self.serve(&mut socket).await.err(),
                Ok(Err(failure)) => Some(failure),
                Err(_) => Some("connecting to it timed out"),
            };
        self.pool.forget(&self.key, self.socket_id);
        let Some(failure) = failure else {
            return;
        };
        tracing::warn!(subgraph = %self.key.subgraph, url = %self.url, reason = failure, "subscription socket failed");
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Subscribe { id, events, .. } = command {
                self.routes.insert(id, events);
            }
        }
        for (_, events) in self.routes.drain() {
            let _ = events.try_send(UpstreamEvent::Failed(failure));
        }
    }

    /// Relays commands and messages until told to close (`Ok`) or the socket fails.
    async fn serve(&mut self, socket: &mut Socket) -> Result<(), &'static str> {
        const LOST: &str = "the connection to it was lost";
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Subscribe { id, payload, events }) => {
                        send(socket, subscribe_message(&id, &payload)).await?;
                        self.routes.insert(id, events);
                    }
                    Some(Command::Complete { id }) => {
                        if self.routes.remove(&id).is_some() {
                            send(socket, complete_message(&id)).await?;
                        }
                    }
                    Some(Command::Close) | None => {
                        let _ = socket.close(None).await;
                        return Ok(());
                    }
                },
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => self.received(socket, text.as_str()).await?,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Binary(_))) => return Err("it sent a binary message"),
                    Some(Ok(Message::Close(_))) | None => return Err("it closed the connection"),
                    Some(Err(_)) => return Err(LOST),
                },
            }
        }
    }

    async fn received(&mut self, socket: &mut Socket, text: &str) -> Result<(), &'static str> {
        let message: ServerMessage = serde_json::from_str(text)
            .map_err(|_| "it sent a message that is not graphql-transport-ws")?;
        match message.kind.as_str() {
            "ping" => send(socket, r#"{"type":"pong"}"#.to_owned()).await?,
            "next" => {
                let response = message
                    .payload
                    .and_then(|payload| serde_json::from_value::<SubgraphResponse>(payload).ok())
                    .unwrap_or_default();
                self.route(message.id, UpstreamEvent::Next(response), false, socket)
                    .await?;
            }
            "error" => {
                let errors = match message.payload {
                    Some(Value::Array(errors)) => errors,
                    Some(error) => vec![error],
                    None => Vec::new(),
                };
                self.route(message.id, UpstreamEvent::Error(errors), true, socket)
                    .await?;
            }
            "complete" => {
                self.route(message.id, UpstreamEvent::Complete, true, socket)
                    .await?;
            }
            // `pong`, a repeated `connection_ack`, and anything newer are harmless.
            _ => {}
        }
        Ok(())
    }

    /// Hands an event to its subscription. A subscription whose client fell too far
    /// behind is completed upstream and dropped, which its client sees as a failure.
    async fn route(
        &mut self,
        id: Option<String>,
        event: UpstreamEvent,
        last: bool,
        socket: &mut Socket,
    ) -> Result<(), &'static str> {
        let Some(id) = id else {
            return Ok(());
        };
        let Some(events) = self.routes.get(&id) else {
            return Ok(());
        };
        match events.try_send(event) {
            Ok(()) if !last => {}
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {
                self.routes.remove(&id);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(subgraph = %self.key.subgraph, "a subscriber fell behind; dropping it");
                self.routes.remove(&id);
                if !last {
                    send(socket, complete_message(&id)).await?;
                }
            }
        }
        Ok(())
    }
}

/// Opens the socket and waits for `connection_ack`.
async fn connect(url: &str, key: &SocketKey) -> Result<Socket, &'static str> {
    const UNREACHABLE: &str = "it could not be reached";
    let mut request = url
        .into_client_request()
        .map_err(|_| "its subscription URL is not a WebSocket URL")?;
    let headers = request.headers_mut();
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(PROTOCOL),
    );
    let mut init = Map::new();
    if let Some(authorization) = &key.authorization {
        headers.insert(header::AUTHORIZATION, authorization.clone());
        if let Ok(value) = authorization.to_str() {
            init.insert("Authorization".to_owned(), Value::from(value));
        }
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|_| UNREACHABLE)?;
    let mut message = br#"{"type":"connection_init","payload":"#.to_vec();
    write_json(&mut message, &init);
    message.push(b'}');
    send(&mut socket, String::from_utf8_lossy(&message).into_owned()).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: ServerMessage = serde_json::from_str(text.as_str())
                    .map_err(|_| "it sent a message that is not graphql-transport-ws")?;
                match message.kind.as_str() {
                    "connection_ack" => return Ok(socket),
                    "ping" => send(&mut socket, r#"{"type":"pong"}"#.to_owned()).await?,
                    _ => return Err("it did not acknowledge the connection"),
                }
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Close(_))) | None => return Err("it refused the connection"),
            Some(Ok(Message::Binary(_))) => return Err("it sent a binary message"),
            Some(Err(_)) => return Err(UNREACHABLE),
        }
    }
}

async fn send(socket: &mut Socket, text: String) -> Result<(), &'static str> {
    socket
        .send(Message::text(text))
        .await
        .map_err(|_| "the connection to it was lost")
}

fn subscribe_message(id: &str, payload: &[u8]) -> String {
    let mut message = br#"{"id":"#.to_vec();
    write_json(&mut message, id);
    message.extend_from_slice(br#","type":"subscribe","payload":"#);
    message.extend_from_slice(payload);
    message.push(b'}');
    String::from_utf8_lossy(&message).into_owned()
}

fn complete_message(id: &str) -> String {
    let mut message = br#"{"id":"#.to_vec();
    write_json(&mut message, id);
    message.extend_from_slice(br#","type":"complete"}"#);
    String::from_utf8_lossy(&message).into_owned()
}

/// `http://host/graphql` → `ws://host/graphql`, `https://` → `wss://`; anything else is
/// kept as it is.
fn websocket_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        url.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::websocket_url;

    #[test]
    fn a_subgraph_url_becomes_its_websocket_url() {
        assert_eq!(
            websocket_url("http://social:4004/graphql"),
            "ws://social:4004/graphql"
        );
        assert_eq!(
            websocket_url("https://social.example/graphql"),
            "wss://social.example/graphql"
        );
        assert_eq!(websocket_url("ws://social/ws"), "ws://social/ws");
    }
}
