//! Live delivery: fire-and-forget pub/sub for GraphQL subscriptions, across instances.
//!
//! A subscription may be served by any instance of a subgraph while the change it waits
//! for is written by another, so the instance that commits a change publishes it on a
//! topic and every instance's subscriptions listen on the topics they care about. Live
//! messages are not durable: the database row is the record, a live message only says
//! "look, something new" to whoever is listening right now.
//!
//! With NATS the topics are core NATS subjects `<namespace>.live.<topic>` (no JetStream:
//! nothing is stored or acknowledged); in embedded mode they are `tokio::sync::broadcast`
//! channels of the process, shared like the embedded bus by every subgraph in it. Each
//! bus carries its hub ([`super::EventBus::live`]), so whoever shares a bus shares a hub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;

use super::error::EventError;

/// Messages a slow in-process listener may fall behind by before it skips some.
const LOCAL_BUFFER: usize = 256;

/// How long a NATS subscription may take to be confirmed by the server.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);

/// The messages of one topic from the moment of subscribing, until the stream is dropped.
pub type LiveStream = BoxStream<'static, Bytes>;

/// Publish and subscribe by topic (`<domain>.<what>.<id>`, e.g.
/// `messaging.notification.<user id>`), at most once, to whoever listens now.
#[async_trait]
pub trait LiveHub: Send + Sync {
    /// Sends `payload` to every current listener of `topic`, on every instance. Nobody
    /// listening is not an error.
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), EventError>;

    /// Listens on `topic`. When this returns, the subscription is registered everywhere
    /// (for NATS: confirmed by the server), so anything published afterwards arrives.
    async fn subscribe(&self, topic: &str) -> Result<LiveStream, EventError>;

    /// How many subscriptions of this process listen on `topic` now: for metrics, and
    /// for tests that must know a subscription is live before they act.
    fn listeners(&self, topic: &str) -> usize;
}

/// Counts this process's open subscriptions by topic; each stream holds a guard.
#[derive(Clone, Default)]
struct Listeners(Arc<Mutex<HashMap<String, usize>>>);

impl Listeners {
    fn count(&self, topic: &str) -> usize {
        let counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(topic).copied().unwrap_or(0)
    }

    /// Counts one more listener of `topic` until the guard is dropped.
    fn enter(&self, topic: &str) -> ListenerGuard {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(topic.to_owned()).or_default() += 1;
        ListenerGuard {
            listeners: self.clone(),
            topic: topic.to_owned(),
        }
    }
}

/// One counted listener; dropped with its stream.
struct ListenerGuard {
    listeners: Listeners,
    topic: String,
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        let mut counts = self
            .listeners
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.topic) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.topic);
            }
        }
    }
}

/// A stream that keeps `guard` alive as long as it is.
fn guarded(stream: LiveStream, guard: ListenerGuard) -> LiveStream {
    stream
        .map(move |payload| {
            let _counted = &guard;
            payload
        })
        .boxed()
}

/// The in-process hub of the embedded mode: one broadcast channel per topic.
#[derive(Default)]
pub struct LocalHub {
    /// Channels by topic; a channel without receivers is dropped on the next publish.
    channels: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
    listeners: Listeners,
}

impl LocalHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl LiveHub for LocalHub {
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), EventError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = channels.get(topic)
            && sender.send(payload).is_err()
        {
            // Every receiver is gone: forget the channel.
            channels.remove(topic);
        }
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> Result<LiveStream, EventError> {
        let receiver = {
            let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
            channels
                .entry(topic.to_owned())
                .or_insert_with(|| broadcast::channel(LOCAL_BUFFER).0)
                .subscribe()
        };
        let topic_name = topic.to_owned();
        let stream = futures::stream::unfold(receiver, move |mut receiver| {
            let topic = topic_name.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(payload) => return Some((payload, receiver)),
                        Err(broadcast::error::RecvError::Lagged(skipped)) => {
                            tracing::warn!(topic, skipped, "a slow live listener skipped messages");
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
        Ok(guarded(stream.boxed(), self.listeners.enter(topic)))
    }

    fn listeners(&self, topic: &str) -> usize {
        self.listeners.count(topic)
    }
}

/// Core NATS publish/subscribe on `<namespace>.live.<topic>`.
pub struct NatsHub {
    client: async_nats::Client,
    /// `<namespace>.live` (`live` without a namespace).
    prefix: String,
    listeners: Listeners,
}

impl NatsHub {
    /// A hub on `client`'s connection, its subjects under `namespace`.
    pub fn new(client: async_nats::Client, namespace: &str) -> Self {
        let prefix = if namespace.is_empty() {
            "live".to_owned()
        } else {
            format!("{namespace}.live")
        };
        Self {
            client,
            prefix,
            listeners: Listeners::default(),
        }
    }

    fn subject(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }

    /// Waits for a round trip to the server on this connection. The server handles a
    /// connection's operations in order, so the subscriptions sent before are in place.
    async fn sync(&self) -> Result<(), EventError> {
        let probe = format!("{}._sync.{}", self.prefix, uuid::Uuid::now_v7().simple());
        let request = async_nats::Request::new().timeout(Some(SYNC_TIMEOUT));
        match self.client.send_request(probe, request).await {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
            Err(err) => Err(EventError::bus(err)),
        }
    }
}

#[async_trait]
impl LiveHub for NatsHub {
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<(), EventError> {
        self.client
            .publish(self.subject(topic), payload)
            .await
            .map_err(EventError::bus)
    }

    async fn subscribe(&self, topic: &str) -> Result<LiveStream, EventError> {
        let subscriber = self
            .client
            .subscribe(self.subject(topic))
            .await
            .map_err(EventError::bus)?;
        self.sync().await?;
        let stream = subscriber.map(|message| message.payload).boxed();
        Ok(guarded(stream, self.listeners.enter(topic)))
    }

    fn listeners(&self, topic: &str) -> usize {
        self.listeners.count(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_listeners_hear_their_topic_only_and_are_counted_while_they_listen() {
        let hub = LocalHub::new();
        let mut mine = hub.subscribe("chat.a").await.unwrap();
        let mut other = hub.subscribe("chat.b").await.unwrap();
        assert_eq!(hub.listeners("chat.a"), 1);

        hub.publish("chat.a", Bytes::from_static(b"hi"))
            .await
            .unwrap();
        hub.publish("chat.nobody", Bytes::from_static(b"lost"))
            .await
            .unwrap();

        assert_eq!(mine.next().await.unwrap(), Bytes::from_static(b"hi"));
        let nothing = tokio::time::timeout(Duration::from_millis(20), other.next()).await;
        assert!(nothing.is_err(), "chat.b heard nothing");
        drop(mine);
        assert_eq!(hub.listeners("chat.a"), 0);
    }
}
