//! Entity caching: what a subgraph's `_entities` answered is kept per entity for as long
//! as the subgraph allows, and later query fetches ask the subgraph only for the
//! entities not kept (all of them kept: no request at all).
//!
//! A subgraph allows it with `Cache-Control: max-age=N` on the response, as
//! async-graphql sends when every type and field of the document has a
//! `cache_control(max_age)` hint; an answer marked `private`, `no-cache` or `no-store`,
//! or one with errors, is not kept. An entry is one entity's answer to one selection:
//! its key is the selection's shape (operation, response key and the client variables
//! the operation uses) and the entity's representation. Every mutation the router sends
//! to the subgraph makes all its entries stale, so a client reads its own writes; what
//! changes another way (an event the subgraph consumed, another router's mutation) is
//! seen within the max-age. Entries live in an LRU of bounded size.
//!
//! Keys are hashed with this process's random keys, and an entry also holds its shape
//! and representation, so a hash collision is a miss and no client can aim one at
//! another's entry.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;
use metrics::Counter;
use serde_json::{Map, Value as JsonValue};

use super::representations::Representations;
use crate::response::{GraphQLError, PathSegment, write_json};
use crate::value::Value;

/// The cached entities of one subgraph.
pub(crate) struct EntityCache {
    entries: Mutex<LruCache<u64, Entry>>,
    /// Bumped by every mutation sent to the subgraph; entries of an older generation
    /// are stale.
    generation: AtomicU64,
    hasher: RandomState,
    /// Entities answered from the cache, and entities asked for.
    counters: Option<(Counter, Counter)>,
}

struct Entry {
    shape: u64,
    representation: Box<[u8]>,
    entity: Value,
    expires: Instant,
    generation: u64,
}

impl EntityCache {
    /// A cache holding at most `capacity` entities, counting its hits and misses on
    /// `counters` if given.
    pub fn new(capacity: NonZeroUsize, counters: Option<(Counter, Counter)>) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            generation: AtomicU64::new(0),
            hasher: RandomState::new(),
            counters,
        }
    }

    /// Makes every entry stale: a mutation was sent to the subgraph.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<u64, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shape(
        &self,
        operation: &str,
        response_key: &str,
        variable_usages: Option<&BTreeSet<String>>,
        variables: &Map<String, JsonValue>,
    ) -> u64 {
        let mut used = Vec::new();
        for name in variable_usages.into_iter().flatten() {
            write_json(&mut used, name);
            write_json(&mut used, variables.get(name).unwrap_or(&JsonValue::Null));
        }
        self.hasher.hash_one((operation, response_key, used))
    }

    /// The fresh entity kept for `representation` in `shape`, looked up in `entries`
    /// (locked once for a whole fetch).
    fn get(
        &self,
        entries: &mut LruCache<u64, Entry>,
        shape: u64,
        representation: &[u8],
        generation: u64,
        now: Instant,
    ) -> Option<Value> {
        let entry = entries.get(&self.hasher.hash_one((shape, representation)))?;
        let fresh = entry.shape == shape
            && *entry.representation == *representation
            && entry.generation == generation
            && entry.expires > now;
        fresh.then(|| entry.entity.clone())
    }

    fn put(&self, shape: u64, representation: &[u8], entity: Value, entry: (Instant, u64)) {
        let (expires, generation) = entry;
        let key = self.hasher.hash_one((shape, representation));
        self.lock().put(
            key,
            Entry {
                shape,
                representation: representation.into(),
                entity,
                expires,
                generation,
            },
        );
    }
}

/// One entity fetch seen through the cache: per `_entities` call the entities the cache
/// answered, and per representations variable the positions still to send.
pub(super) struct Split<'a> {
    cache: &'a EntityCache,
    generation: u64,
    calls: Vec<CallSplit<'a>>,
    pending: HashMap<&'a str, Vec<usize>>,
}

struct CallSplit<'a> {
    variable: &'a str,
    shape: u64,
    /// Position of a representation → its cached entity.
    hits: HashMap<usize, Value>,
}

impl<'a> Split<'a> {
    /// Looks up every representation of every call, `(response key, variable)`; a
    /// representation is sent unless every call using its variable found its entity.
    pub fn new(
        cache: &'a EntityCache,
        operation: &str,
        variable_usages: Option<&BTreeSet<String>>,
        variables: &Map<String, JsonValue>,
        calls: impl Iterator<Item = (&'a str, &'a str)>,
        collected: &HashMap<&'a str, Representations>,
    ) -> Self {
        let generation = cache.generation.load(Ordering::SeqCst);
        let now = Instant::now();
        let mut entries = cache.lock();
        let calls: Vec<CallSplit<'a>> = calls
            .map(|(response_key, variable)| {
                let shape = cache.shape(operation, response_key, variable_usages, variables);
                // A subgraph that never allowed caching costs one lock, not one per entity.
                let hits = match collected.get(variable) {
                    Some(representations) if !entries.is_empty() => (0..representations.len())
                        .filter_map(|position| {
                            let item = representations.item(position);
                            let entity = cache.get(&mut entries, shape, item, generation, now)?;
                            Some((position, entity))
                        })
                        .collect(),
                    _ => HashMap::new(),
                };
                CallSplit {
                    variable,
                    shape,
                    hits,
                }
            })
            .collect();
        drop(entries);
        let pending: HashMap<&'a str, Vec<usize>> = collected
            .iter()
            .map(|(&variable, representations)| {
                let users: Vec<&CallSplit<'a>> = calls
                    .iter()
                    .filter(|call| call.variable == variable)
                    .collect();
                let positions = (0..representations.len())
                    .filter(|position| !users.iter().all(|call| call.hits.contains_key(position)))
                    .collect();
                (variable, positions)
            })
            .collect();
        if let Some((hits, misses)) = &cache.counters {
            let total: usize = collected.values().map(Representations::len).sum();
            let sent: usize = pending.values().map(Vec::len).sum();
            hits.increment((total - sent) as u64);
            misses.increment(sent as u64);
        }
        Self {
            cache,
            generation,
            calls,
            pending,
        }
    }

    /// Whether the cache answered everything.
    pub fn is_complete(&self) -> bool {
        self.pending.values().all(Vec::is_empty)
    }

    /// The items of `variable`'s list still to send, comma-separated.
    pub fn list(&self, variable: &str, representations: &Representations) -> Vec<u8> {
        let mut list = Vec::new();
        for &position in self.pending.get(variable).into_iter().flatten() {
            if !list.is_empty() {
                list.push(b',');
            }
            list.extend_from_slice(representations.item(position));
        }
        list
    }

    /// Call number `call`'s entities for all its representations: the subgraph's answer
    /// for those sent (`answered`, in the order sent), kept for `max_age` if given, and
    /// the cached ones for the rest.
    pub fn complete(
        &mut self,
        call: usize,
        representations: &Representations,
        answered: Vec<Value>,
        max_age: Option<Duration>,
    ) -> Vec<Value> {
        let split = &mut self.calls[call];
        let sent = self
            .pending
            .get(split.variable)
            .map_or(&[][..], Vec::as_slice);
        let keep = max_age.map(|age| (Instant::now() + age, self.generation));
        let mut answered = answered.into_iter();
        (0..representations.len())
            .map(|position| match split.hits.remove(&position) {
                Some(cached) if sent.binary_search(&position).is_err() => cached,
                _ => {
                    let entity = answered.next().unwrap_or_default();
                    if let Some(keep) = keep
                        && matches!(entity, Value::Object(_))
                    {
                        let item = representations.item(position);
                        self.cache.put(split.shape, item, entity.clone(), keep);
                    }
                    entity
                }
            })
            .collect()
    }

    /// Moves an error at `[key, i, ..]` of the subgraph's answer to the position of the
    /// `i`-th representation sent.
    pub fn relocate(&self, variable: &str, error: &mut GraphQLError) {
        let sent = self.pending.get(variable).map_or(&[][..], Vec::as_slice);
        if let Some([_, PathSegment::Index(index), ..]) = error.path.as_deref_mut()
            && let Some(&position) = sent.get(*index)
        {
            *index = position;
        }
    }
}
