//! Test clients of the router: graphql-transport-ws over tokio-tungstenite, and GraphQL
//! over SSE read frame by frame from a reqwest response. Every read waits at most
//! [`WAIT`].

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::graph::WAIT;

/// A graphql-transport-ws client.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Opens a socket (`Authorization` on the handshake when given) without
    /// initialising it.
    pub async fn open(router_url: &str, handshake_authorization: Option<&str>) -> Self {
        let url = router_url.replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        if let Some(authorization) = handshake_authorization {
            headers.insert(
                "authorization",
                HeaderValue::from_str(authorization).unwrap(),
            );
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        Self { socket }
    }

    /// Opens a socket and initialises it with `payload`, expecting `connection_ack`.
    pub async fn connect(router_url: &str, payload: Value) -> Self {
        let mut client = Self::open(router_url, None).await;
        client.init(payload).await;
        client
    }

    /// Sends `connection_init` and expects `connection_ack`.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(self.recv().await, json!({ "type": "connection_ack" }));
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// Sends `subscribe` with this id and query.
    pub async fn subscribe(&mut self, id: &str, query: &str) {
        self.subscribe_with(id, json!({ "query": query })).await;
    }

    /// Sends `subscribe` with this id and payload.
    pub async fn subscribe_with(&mut self, id: &str, payload: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": payload }))
            .await;
    }

    /// The next text message as JSON.
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a message within the wait")
                .expect("the socket is open")
                .expect("the socket works");
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Waits for the router to close the socket and returns the close code.
    pub async fn closed(&mut self) -> u16 {
        match self.closed_or_message().await {
            Err(code) => code,
            Ok(message) => panic!("expected a close frame, got {message}"),
        }
    }

    /// The next text message as JSON, or the close code when the router closes.
    pub async fn closed_or_message(&mut self) -> Result<Value, u16> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a message within the wait");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return Err(frame.code.into()),
                Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(text.as_str()).unwrap());
                }
                Some(Ok(other)) => panic!("expected a text or close frame, got {other}"),
                Some(Err(error)) => panic!("the socket failed: {error}"),
            }
        }
    }

    /// Closes the socket as a client going away would.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// One GraphQL-over-SSE response, read frame by frame.
pub struct SseClient {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE frame: its `event:` and `data:`.
#[derive(Debug, PartialEq)]
pub struct Frame {
    pub event: String,
    pub data: String,
}

impl Frame {
    /// The data of a `next` frame as JSON.
    pub fn next(&self) -> Value {
        assert_eq!(self.event, "next", "expected a next frame: {self:?}");
        serde_json::from_str(&self.data).unwrap()
    }
}

impl SseClient {
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame other than a keep-alive comment.
    pub async fn frame(&mut self) -> Frame {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let text: String = self.buffer.drain(..end + 2).collect();
                let mut frame = Frame {
                    event: String::new(),
                    data: String::new(),
                };
                for line in text.lines() {
                    if let Some(event) = line.strip_prefix("event:") {
                        frame.event = event.trim().to_owned();
                    } else if let Some(data) = line.strip_prefix("data:") {
                        frame.data.push_str(data.trim_start());
                    }
                }
                if frame.event.is_empty() && frame.data.is_empty() {
                    continue;
                }
                return frame;
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("a frame within the wait")
                .expect("the stream works")
                .expect("the stream has not ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Expects the stream to end with `complete`.
    pub async fn completes(&mut self) {
        let frame = self.frame().await;
        assert_eq!(frame.event, "complete", "expected complete: {frame:?}");
        let rest = tokio::time::timeout(WAIT, self.response.chunk())
            .await
            .expect("the stream ends")
            .expect("the stream works");
        assert_eq!(rest, None, "nothing after complete");
    }
}
