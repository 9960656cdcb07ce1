//! graphql-transport-ws for clients: a WebSocket upgrade on `GET /graphql`.
//!
//! The protocol of enisdenjo/graphql-ws: the client sends `connection_init` (its
//! payload may carry `Authorization` or `authorization`; otherwise the handshake's
//! `Authorization` header counts), the router validates the token and answers
//! `connection_ack`, or closes with 4401. Then `subscribe` starts an operation whose
//! results come back as `next` and end with `complete`; a refused or failed operation
//! gets one `error` instead. The client's `complete` stops an operation, and closing
//! the socket stops them all, which releases their upstream subscriptions. Each
//! `subscribe` counts against the client's rate limit (an `error` when over it), and a
//! mutation's sensitive fields against the stricter limits, as over HTTP. Protocol
//! violations close the socket with graphql-ws's codes (4400, 4401, 4406, 4408, 4409,
//! 4429); a stopping router closes it with 1001.
//!
//! There is no CSRF check here: a browser does not attach credentials to a WebSocket
//! on its own (the token travels in `connection_init`), so a cross-site page cannot
//! act for a user.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::upstream::PROTOCOL;
use super::{Event, start};
use crate::pipeline::{Gateway, GraphQLRequest};
use crate::rate_limit::Client;
use crate::response::{GraphQLError, write_json};

/// How long a client may take to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts the upgrade; the session runs on the upgraded socket.
pub(crate) fn upgrade(
    gateway: Arc<Gateway>,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    address: IpAddr,
) -> Response {
    let max_message_bytes = gateway.limits().max_body_bytes;
    let upgrade = upgrade
        .protocols([PROTOCOL])
        .max_message_size(max_message_bytes);
    let speaks_protocol = upgrade.selected_protocol().is_some();
    let session = Session {
        gateway,
        handshake_authorization: headers.get(header::AUTHORIZATION).cloned(),
        authorization: None,
        subject: None,
        address,
        initialised: false,
        operations: HashMap::new(),
        next_generation: 0,
    };
    upgrade.on_upgrade(move |socket| session.run(socket, speaks_protocol))
}

/// One client connection.
struct Session {
    gateway: Arc<Gateway>,
    /// The handshake's header, used when `connection_init` carries no token.
    handshake_authorization: Option<HeaderValue>,
    /// The validated token of this connection, forwarded upstream.
    authorization: Option<HeaderValue>,
    /// The token's subject, whose rate limit each subscription counts against.
    subject: Option<String>,
    /// The client's address, whose rate limit counts when there is no subject.
    address: IpAddr,
    initialised: bool,
    /// Running operations: id → (generation, task). The generation tells a finished
    /// task apart from a newer operation that reused its id.
    operations: HashMap<String, (u64, AbortHandle)>,
    next_generation: u64,
}

/// What an operation task hands to the socket.
enum Outgoing {
    Message(String),
    /// The operation's last message; the operation is over.
    Last {
        id: String,
        generation: u64,
        message: String,
    },
}

/// A graphql-transport-ws message from the client.
#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<Value>,
}

/// How a session ends when the router ends it.
struct Close(u16, &'static str);

impl Session {
    async fn run(mut self, mut socket: WebSocket, speaks_protocol: bool) {
        if !speaks_protocol {
            close(&mut socket, Close(4406, "Subprotocol not acceptable")).await;
            return;
        }
        let (outgoing, mut outgoing_receiver) = mpsc::unbounded_channel();
        let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
        tokio::pin!(init_deadline);
        let closing = self.gateway.closing().clone();
        let ended = loop {
            tokio::select! {
                message = socket.recv() => match message {
                    Some(Ok(Message::Text(text))) => {
                        match self.received(text.as_str(), &outgoing).await {
                            Ok(Some(reply)) => {
                                if socket.send(Message::text(reply)).await.is_err() {
                                    break None;
                                }
                            }
                            Ok(None) => {}
                            Err(reason) => break Some(reason),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => break Some(Close(4400, "Binary messages are not supported")),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                },
                Some(outgoing) = outgoing_receiver.recv() => {
                    let message = match outgoing {
                        Outgoing::Message(message) => message,
                        Outgoing::Last { id, generation, message } => {
                            if self.operations.get(&id).is_some_and(|(current, _)| *current == generation) {
                                self.operations.remove(&id);
                            }
                            message
                        }
                    };
                    if socket.send(Message::text(message)).await.is_err() {
                        break None;
                    }
                },
                () = &mut init_deadline, if !self.initialised => {
                    break Some(Close(4408, "Connection initialisation timeout"));
                },
                () = closing.cancelled() => break Some(Close(1001, "The router is shutting down")),
            }
        };
        for (_, (_, task)) in self.operations.drain() {
            task.abort();
        }
        if let Some(reason) = ended {
            close(&mut socket, reason).await;
        }
    }

    /// Handles one message; returns the reply to send, or why to close.
    async fn received(
        &mut self,
        text: &str,
        outgoing: &mpsc::UnboundedSender<Outgoing>,
    ) -> Result<Option<String>, Close> {
        let message: ClientMessage =
            serde_json::from_str(text).map_err(|_| Close(4400, "Invalid message received"))?;
        match message.kind.as_str() {
            "connection_init" => {
                if self.initialised {
                    return Err(Close(4429, "Too many initialisation requests"));
                }
                let authorization = match message.payload.as_ref().and_then(token_of) {
                    Some(token) => Some(
                        HeaderValue::from_str(token).map_err(|_| Close(4401, "Unauthorized"))?,
                    ),
                    None => self.handshake_authorization.take(),
                };
                self.subject = self
                    .gateway
                    .authenticate(authorization.as_ref())
                    .await
                    .map_err(|_| Close(4401, "Unauthorized"))?;
                self.authorization = authorization;
                self.initialised = true;
                Ok(Some(r#"{"type":"connection_ack"}"#.to_owned()))
            }
            "ping" => Ok(Some(r#"{"type":"pong"}"#.to_owned())),
            "pong" => Ok(None),
            "subscribe" => {
                if !self.initialised {
                    return Err(Close(4401, "Unauthorized"));
                }
                let (Some(id), Some(payload)) = (message.id, message.payload) else {
                    return Err(Close(4400, "Invalid message received"));
                };
                let request = serde_json::from_value::<GraphQLRequest>(payload)
                    .map_err(|_| Close(4400, "Invalid message received"))?;
                if self.operations.contains_key(&id) {
                    // graphql-ws puts the id in the reason; a fixed reason keeps it short.
                    return Err(Close(4409, "Subscriber for this id already exists"));
                }
                let client = match self.gateway.rate_limit(self.subject.clone(), self.address) {
                    Ok(client) => client,
                    Err(rejection) => {
                        self.gateway.telemetry().errors(&rejection.errors);
                        return Ok(Some(error_message(&id, &rejection.errors)));
                    }
                };
                let generation = self.next_generation;
                self.next_generation += 1;
                let task = tokio::spawn(operation(
                    Arc::clone(&self.gateway),
                    request,
                    self.authorization.clone(),
                    client,
                    id.clone(),
                    generation,
                    outgoing.clone(),
                ));
                self.operations
                    .insert(id, (generation, task.abort_handle()));
                Ok(None)
            }
            "complete" => {
                let id = message.id.ok_or(Close(4400, "Invalid message received"))?;
                if let Some((_, task)) = self.operations.remove(&id) {
                    task.abort();
                }
                Ok(None)
            }
            _ => Err(Close(4400, "Invalid message received")),
        }
    }
}

/// Runs one operation, handing its messages to the socket.
async fn operation(
    gateway: Arc<Gateway>,
    request: GraphQLRequest,
    authorization: Option<HeaderValue>,
    client: Client,
    id: String,
    generation: u64,
    outgoing: mpsc::UnboundedSender<Outgoing>,
) {
    let telemetry_gateway = Arc::clone(&gateway);
    let last = match start(gateway, request, authorization, false, &client).await {
        Err(rejection) => {
            telemetry_gateway.telemetry().errors(&rejection.errors);
            error_message(&id, &rejection.errors)
        }
        Ok(mut events) => loop {
            match events.next().await {
                Some(Event::Next(body)) => {
                    if outgoing
                        .send(Outgoing::Message(next_message(&id, &body)))
                        .is_err()
                    {
                        return;
                    }
                }
                Some(Event::Error(errors)) => break error_message(&id, &errors),
                None => break message(&id, "complete", None),
            }
        },
    };
    let _ = outgoing.send(Outgoing::Last {
        id,
        generation,
        message: last,
    });
}

/// The token of a `connection_init` payload: `Authorization` or `authorization`.
fn token_of(payload: &Value) -> Option<&str> {
    let payload = payload.as_object()?;
    payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(Value::as_str)
}

fn next_message(id: &str, body: &[u8]) -> String {
    message(id, "next", Some(body))
}

fn error_message(id: &str, errors: &[GraphQLError]) -> String {
    let mut payload = Vec::new();
    write_json(&mut payload, errors);
    message(id, "error", Some(&payload))
}

/// `{"id": .., "type": .., "payload": ..}` around an already serialized payload.
fn message(id: &str, kind: &str, payload: Option<&[u8]>) -> String {
    let mut out = br#"{"id":"#.to_vec();
    write_json(&mut out, id);
    out.extend_from_slice(br#","type":"#);
    write_json(&mut out, kind);
    if let Some(payload) = payload {
        out.extend_from_slice(br#","payload":"#);
        out.extend_from_slice(payload);
    }
    out.push(b'}');
    String::from_utf8_lossy(&out).into_owned()
}

async fn close(socket: &mut WebSocket, Close(code, reason): Close) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
