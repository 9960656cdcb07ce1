//! Request deduplication ("single flight"): fetches that would send a subgraph the same
//! request while one like it is in flight wait for that one instead, and each gets a
//! copy of its answer. Fifty clients loading the same page then cost the subgraph one
//! request per step rather than fifty.
//!
//! Two fetches are the same when they go to the same subgraph (one [`Inflight`] per
//! subgraph) with the same body and the same `Authorization` header, so the subgraph
//! would see the same request from the same caller, and no mutation was sent between
//! their starts (so that a client that changed something and asks again does not get
//! an answer read before its change). Whether a fetch may be shared at all is the
//! caller's decision: queries may, mutations may not.
//!
//! Why not a crate: most single-flight crates key by `&str`, and the one that takes
//! any key (`mea::singleflight::Group`) tells a caller that it joined rather than led
//! only once the answer is there. Here a join is known, and counted
//! (`agora_router_subgraph_joined_total`), the moment it happens, so the metric shows
//! callers piling up behind a slow subgraph, and the tests can tell that every caller
//! has joined before letting the subgraph answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::HeaderValue;
use bytes::Bytes;
use tokio::sync::oneshot;

use super::fetch::{FetchError, SubgraphResponse};

/// What a shared fetch gives each of its callers.
pub(crate) type Answer = Result<SubgraphResponse, Arc<FetchError>>;

/// The requests in flight to one subgraph, each with the callers waiting for it.
#[derive(Default)]
pub(super) struct Inflight {
    calls: Mutex<HashMap<Key, Vec<oneshot::Sender<Answer>>>>,
}

/// What makes two subgraph requests the same.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    /// How many mutations the router had sent when the request started.
    pub writes: u64,
    pub authorization: Option<HeaderValue>,
    pub body: Bytes,
}

/// A caller's part in a shared fetch.
pub(super) enum Turn<'a> {
    /// No such request is in flight: send it, then [`Lead::finish`].
    Lead(Lead<'a>),
    /// The same request is in flight: wait for its answer. The channel closes without
    /// one if the leading caller was cancelled; send the request yourself then.
    Follow(oneshot::Receiver<Answer>),
}

impl Inflight {
    /// Joins the request `key` if one is in flight, else leads it.
    pub fn join(&self, key: Key) -> Turn<'_> {
        let mut calls = self.lock();
        if let Some(followers) = calls.get_mut(&key) {
            let (sender, receiver) = oneshot::channel();
            followers.push(sender);
            return Turn::Follow(receiver);
        }
        calls.insert(key.clone(), Vec::new());
        Turn::Lead(Lead {
            inflight: self,
            key: Some(key),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Vec<oneshot::Sender<Answer>>>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the request `key`: later callers send their own.
    fn end(&self, key: &Key) -> Vec<oneshot::Sender<Answer>> {
        self.lock().remove(key).unwrap_or_default()
    }
}

/// The caller that sends a shared request. Dropped without finishing (cancelled), it
/// ends the request, and its followers send their own.
pub(super) struct Lead<'a> {
    inflight: &'a Inflight,
    key: Option<Key>,
}

impl Lead<'_> {
    /// Hands a copy of `answer` to every caller that joined.
    pub fn finish(mut self, answer: &Answer) {
        let Some(key) = self.key.take() else {
            return;
        };
        for follower in self.inflight.end(&key) {
            // A follower that went away needs no answer.
            let _ = follower.send(answer.clone());
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.inflight.end(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(body: &'static str, authorization: Option<&'static str>) -> Key {
        Key {
            writes: 0,
            authorization: authorization.map(HeaderValue::from_static),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    fn answer(text: &str) -> Answer {
        Ok(SubgraphResponse {
            data: Some(crate::value::Value::String(text.into())),
            ..SubgraphResponse::default()
        })
    }

    #[tokio::test]
    async fn callers_of_the_same_request_get_the_leaders_answer() {
        let inflight = Inflight::default();
        let Turn::Lead(lead) = inflight.join(key("q", Some("Bearer a"))) else {
            panic!("the first caller leads");
        };
        let Turn::Follow(first) = inflight.join(key("q", Some("Bearer a"))) else {
            panic!("the same request is joined");
        };
        let Turn::Follow(second) = inflight.join(key("q", Some("Bearer a"))) else {
            panic!("the same request is joined");
        };
        lead.finish(&answer("shared"));
        for follower in [first, second] {
            let data = follower.await.expect("an answer").expect("a response").data;
            assert_eq!(
                data.and_then(|d| d.as_str().map(str::to_owned)).as_deref(),
                Some("shared")
            );
        }
        assert!(
            matches!(inflight.join(key("q", Some("Bearer a"))), Turn::Lead(_)),
            "a finished request is not joined"
        );
    }

    #[test]
    fn another_body_or_caller_or_a_mutation_between_is_another_request() {
        let inflight = Inflight::default();
        let _lead = inflight.join(key("q", Some("Bearer a")));
        assert!(matches!(
            inflight.join(key("q", Some("Bearer b"))),
            Turn::Lead(_)
        ));
        assert!(matches!(inflight.join(key("q", None)), Turn::Lead(_)));
        assert!(matches!(
            inflight.join(key("other", Some("Bearer a"))),
            Turn::Lead(_)
        ));
    }

    #[tokio::test]
    async fn followers_of_a_cancelled_leader_are_told_to_send_their_own() {
        let inflight = Inflight::default();
        let lead = inflight.join(key("q", None));
        let Turn::Follow(follower) = inflight.join(key("q", None)) else {
            panic!("the same request is joined");
        };
        drop(lead);
        assert!(follower.await.is_err(), "no answer comes");
        assert!(matches!(inflight.join(key("q", None)), Turn::Lead(_)));
    }
}
