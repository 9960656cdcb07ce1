//! A test's graphql-transport-ws client, as a frontend speaks it: subscriptions at a
//! subgraph's `/graphql` or through the router's.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Message, http::header};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one frame it expects (a bound, not a timing assertion).
pub const FRAME_WAIT: Duration = Duration::from_secs(5);

/// An open, acknowledged graphql-transport-ws connection.
pub struct Socket {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Payloads that arrived for a subscription while the test waited for another.
    pending: HashMap<String, VecDeque<Value>>,
}

/// How the server ended a connection it would not accept: the close code and reason.
#[derive(Debug)]
pub struct Refused {
    /// The WebSocket close code (or 0 when the connection just ended).
    pub code: u16,
    /// The close reason.
    pub reason: String,
}

impl Socket {
    /// Connects to the GraphQL endpoint `url` (`http://` becomes `ws://`), sends
    /// `connection_init` with `token` as `Authorization: Bearer <token>` in its payload,
    /// and waits for `connection_ack`; a refusal is returned, anything else panics.
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Self, Refused> {
        let ws_url = url
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        let mut request = ws_url.into_client_request().expect("a WebSocket URL");
        request.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket handshake");
        let mut socket = Socket {
            stream,
            pending: HashMap::new(),
        };
        let payload = match token {
            Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
            None => json!({}),
        };
        socket
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        match socket.frame().await {
            Ok(message) if message["type"] == "connection_ack" => Ok(socket),
            Ok(message) => panic!("expected connection_ack, got {message}"),
            Err(refused) => Err(refused),
        }
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// The next result of subscription `id` (`{"errors": ..}` for an `error` message),
    /// waiting at most `wait`; panics if none comes.
    pub async fn next(&mut self, id: &str, wait: Duration) -> Value {
        match tokio::time::timeout(wait, self.next_for(id)).await {
            Ok(payload) => payload,
            Err(_) => panic!("no result for subscription {id} within {wait:?}"),
        }
    }

    /// Whether subscription `id` stays silent for `wait` (for what must not arrive).
    pub async fn silent(&mut self, id: &str, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.next_for(id)).await.is_err()
    }

    async fn next_for(&mut self, id: &str) -> Value {
        if let Some(payload) = self.pending.get_mut(id).and_then(VecDeque::pop_front) {
            return payload;
        }
        loop {
            let message = self
                .frame()
                .await
                .unwrap_or_else(|refused| panic!("the connection closed: {refused:?}"));
            let payload = match message["type"].as_str() {
                Some("next") => message["payload"].clone(),
                Some("error") => json!({ "errors": message["payload"] }),
                _ => continue,
            };
            let Some(from) = message["id"].as_str() else {
                continue;
            };
            if from == id {
                return payload;
            }
            self.pending
                .entry(from.to_owned())
                .or_default()
                .push_back(payload);
        }
    }

    /// The next protocol message, answering pings on the way; `Err` once the server
    /// closes the connection.
    /// How the server ends the connection, skipping other frames; panics if it is still
    /// open after `wait`.
    pub async fn closed(&mut self, wait: Duration) -> Refused {
        let closing = async {
            loop {
                if let Err(closed) = self.frame().await {
                    return closed;
                }
            }
        };
        tokio::time::timeout(wait, closing)
            .await
            .unwrap_or_else(|_| panic!("the connection stayed open for {wait:?}"))
    }

    async fn frame(&mut self) -> Result<Value, Refused> {
        loop {
            match self.stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Ok(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Refused {
                        code: frame.as_ref().map_or(0, |f| f.code.into()),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    return Err(Refused {
                        code: 0,
                        reason: "the connection ended".to_owned(),
                    });
                }
            }
        }
    }

    async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("a message sent");
    }
}
