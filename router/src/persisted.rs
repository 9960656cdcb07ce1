//! Operations sent by reference instead of by text: a persisted-document manifest that
//! the frontends' build produces (Apollo's persisted-query manifest format), and
//! automatic persisted queries (APQ), which clients register at run time.
//!
//! A request names a document with `documentId` (GraphQL over HTTP's persisted-document
//! proposal) or with `extensions.persistedQuery.sha256Hash` (Apollo's clients, for both
//! manifests and APQ). Resolution, in order:
//!
//! 1. an id found in the manifest runs the manifest's body;
//! 2. otherwise, with APQ on, a hash with a query registers the query (after checking
//!    that the hash is the query's SHA-256) and a hash alone runs the registered query or
//!    answers `PERSISTED_QUERY_NOT_FOUND`, upon which the client sends the query again;
//! 3. a query sent as text runs, unless the manifest is the only allowed operations
//!    (`only_allowed`): then it must be byte for byte one of the manifest's bodies, and
//!    APQ is off, since it would let clients register anything.
//!
//! The APQ store is per router, in memory, and bounded by bytes: the router stays
//! stateless, and a replica that has not seen a hash simply asks the client for it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, RouterError};
use crate::response::Rejection;

/// How many bytes of registered APQ documents one router keeps.
const APQ_BYTES: usize = 32 * 1024 * 1024;

/// A persisted-query manifest, as Apollo's `generate-persisted-query-manifest` writes it:
/// `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
/// "name", "type", "body"}]}`.
#[derive(Debug, Clone, Default)]
pub struct PersistedManifest {
    /// Operation id → document text.
    bodies: HashMap<String, Arc<str>>,
}

#[derive(Deserialize)]
struct ManifestFile {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

impl PersistedManifest {
    /// Reads a manifest's JSON text; refuses other formats, versions and repeated ids.
    pub fn from_json(text: &str) -> Result<Self, RouterError> {
        let invalid = |reason: String| RouterError::PersistedManifest(reason);
        let file: ManifestFile =
            serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?;
        if file.format != "apollo-persisted-query-manifest" || file.version != 1 {
            return Err(invalid(format!(
                "expected format \"apollo-persisted-query-manifest\" version 1, found {:?} version {}",
                file.format, file.version
            )));
        }
        let mut bodies = HashMap::with_capacity(file.operations.len());
        for operation in file.operations {
            if bodies
                .insert(operation.id.clone(), Arc::from(operation.body))
                .is_some()
            {
                return Err(invalid(format!("the id {} appears twice", operation.id)));
            }
        }
        Ok(Self { bodies })
    }

    /// How many operations the manifest holds.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether the manifest holds no operation.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }
}

/// Persisted documents as configured: a manifest, and whether only its operations may
/// run.
#[derive(Debug, Clone, Default)]
pub struct PersistedDocuments {
    /// The frontends' operations.
    pub manifest: PersistedManifest,
    /// Refuse every operation that is not in the manifest (and turn APQ off).
    pub only_allowed: bool,
}

/// What a request says about its document.
pub(crate) struct DocumentRef<'a> {
    /// The document text, if sent.
    pub query: Option<&'a str>,
    /// `documentId`, or `extensions.persistedQuery.sha256Hash`.
    pub id: Option<&'a str>,
}

/// Resolves requests to document text.
pub(crate) struct Documents {
    manifest: PersistedManifest,
    /// The manifest's bodies, for checking text against the allow-list.
    allowed: Option<HashSet<Arc<str>>>,
    /// `None` when APQ is off.
    apq: Option<Mutex<ApqStore>>,
}

impl Documents {
    /// The resolver for this configuration; `apq` is ignored when only the manifest's
    /// operations are allowed.
    pub fn new(persisted: Option<PersistedDocuments>, apq: bool) -> Self {
        let PersistedDocuments {
            manifest,
            only_allowed,
        } = persisted.unwrap_or_default();
        let allowed = only_allowed.then(|| manifest.bodies.values().cloned().collect());
        let apq = (apq && !only_allowed).then(|| Mutex::new(ApqStore::new(APQ_BYTES)));
        Self {
            manifest,
            allowed,
            apq,
        }
    }

    /// The text of the document the request means, or why it cannot run.
    pub fn resolve(&self, request: DocumentRef<'_>) -> Result<Arc<str>, Rejection> {
        if let Some(id) = request.id {
            if let Some(body) = self.manifest.bodies.get(id) {
                return Ok(Arc::clone(body));
            }
            let Some(apq) = &self.apq else {
                return Err(Rejection::new(
                    "PersistedQueryNotInList",
                    ErrorCode::PersistedQueryNotInList,
                ));
            };
            let mut apq = apq.lock().unwrap_or_else(PoisonError::into_inner);
            return match request.query {
                Some(query) => {
                    if sha256_hex(query) != id {
                        return Err(Rejection::new(
                            "The persisted query's hash is not the SHA-256 of its text",
                            ErrorCode::PersistedQueryHashMismatch,
                        ));
                    }
                    Ok(apq.insert(id, query))
                }
                None => apq.get(id).ok_or_else(|| {
                    Rejection::new("PersistedQueryNotFound", ErrorCode::PersistedQueryNotFound)
                }),
            };
        }
        let query = request
            .query
            .filter(|query| !query.trim().is_empty())
            .ok_or_else(|| Rejection::new("Must provide query string.", ErrorCode::BadRequest))?;
        match &self.allowed {
            Some(allowed) if !allowed.contains(query) => Err(Rejection::new(
                "Only the operations of the persisted-document manifest may run",
                ErrorCode::PersistedQueryNotInList,
            )),
            _ => Ok(Arc::from(query)),
        }
    }
}

/// The lower-case hex SHA-256 of a document, as APQ clients send it.
fn sha256_hex(query: &str) -> String {
    Sha256::digest(query.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Registered APQ documents, least recently used dropped first once over budget.
struct ApqStore {
    documents: LruCache<String, Arc<str>>,
    bytes: usize,
    budget: usize,
}

impl ApqStore {
    fn new(budget: usize) -> Self {
        Self {
            documents: LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    fn get(&mut self, hash: &str) -> Option<Arc<str>> {
        self.documents.get(hash).cloned()
    }

    fn insert(&mut self, hash: &str, query: &str) -> Arc<str> {
        if let Some(known) = self.documents.get(hash) {
            return Arc::clone(known);
        }
        let query: Arc<str> = Arc::from(query);
        self.bytes += hash.len() + query.len();
        self.documents.put(hash.to_owned(), Arc::clone(&query));
        while self.bytes > self.budget {
            match self.documents.pop_lru() {
                Some((hash, query)) => self.bytes -= hash.len() + query.len(),
                None => break,
            }
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "{ me { id } }";

    fn code(rejection: Rejection) -> String {
        rejection.errors[0].extensions["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn manifest() -> PersistedManifest {
        PersistedManifest::from_json(&format!(
            r#"{{"format":"apollo-persisted-query-manifest","version":1,
                "operations":[{{"id":"me-1","name":"Me","type":"query","body":"{QUERY}"}}]}}"#
        ))
        .expect("manifest")
    }

    #[test]
    fn apq_registers_then_runs_by_hash() {
        let documents = Documents::new(None, true);
        let id = sha256_hex(QUERY);
        let unknown = documents.resolve(DocumentRef {
            query: None,
            id: Some(&id),
        });
        assert_eq!(
            code(unknown.expect_err("unregistered")),
            "PERSISTED_QUERY_NOT_FOUND"
        );
        let registered = documents.resolve(DocumentRef {
            query: Some(QUERY),
            id: Some(&id),
        });
        assert_eq!(&*registered.expect("registers"), QUERY);
        let by_hash = documents.resolve(DocumentRef {
            query: None,
            id: Some(&id),
        });
        assert_eq!(&*by_hash.expect("found"), QUERY);
    }

    #[test]
    fn apq_refuses_a_hash_of_other_text() {
        let documents = Documents::new(None, true);
        let wrong = sha256_hex("{ __typename }");
        let refused = documents.resolve(DocumentRef {
            query: Some(QUERY),
            id: Some(&wrong),
        });
        assert_eq!(
            code(refused.expect_err("mismatch")),
            "PERSISTED_QUERY_HASH_MISMATCH"
        );
    }

    #[test]
    fn apq_store_drops_least_recently_used_past_its_budget() {
        let mut store = ApqStore::new(100);
        store.insert("a", &"x".repeat(40));
        store.insert("b", &"y".repeat(40));
        assert!(store.get("a").is_some(), "a is now the most recent");
        store.insert("c", &"z".repeat(40));
        assert!(store.get("b").is_none(), "b was the least recently used");
        assert!(store.get("a").is_some() && store.get("c").is_some());
        assert!(store.bytes <= 100);
    }

    #[test]
    fn manifest_ids_run_their_bodies() {
        let documents = Documents::new(
            Some(PersistedDocuments {
                manifest: manifest(),
                only_allowed: false,
            }),
            true,
        );
        let body = documents.resolve(DocumentRef {
            query: None,
            id: Some("me-1"),
        });
        assert_eq!(&*body.expect("in the manifest"), QUERY);
        let freeform = documents.resolve(DocumentRef {
            query: Some("{ __typename }"),
            id: None,
        });
        assert_eq!(&*freeform.expect("text still allowed"), "{ __typename }");
    }

    #[test]
    fn only_allowed_refuses_other_text_and_apq() {
        let documents = Documents::new(
            Some(PersistedDocuments {
                manifest: manifest(),
                only_allowed: true,
            }),
            true,
        );
        let listed = documents.resolve(DocumentRef {
            query: Some(QUERY),
            id: None,
        });
        assert_eq!(&*listed.expect("the manifest's own text"), QUERY);
        let other = "{ __typename }";
        let refused = documents.resolve(DocumentRef {
            query: Some(other),
            id: None,
        });
        assert_eq!(
            code(refused.expect_err("not listed")),
            "PERSISTED_QUERY_NOT_IN_LIST"
        );
        let apq = documents.resolve(DocumentRef {
            query: Some(other),
            id: Some(&sha256_hex(other)),
        });
        assert_eq!(
            code(apq.expect_err("APQ is off")),
            "PERSISTED_QUERY_NOT_IN_LIST"
        );
    }

    #[test]
    fn manifests_of_other_formats_are_refused() {
        let other = r#"{"format":"relay","version":1,"operations":[]}"#;
        assert!(PersistedManifest::from_json(other).is_err());
        let repeated = r#"{"format":"apollo-persisted-query-manifest","version":1,"operations":[
            {"id":"a","body":"{ a }"},{"id":"a","body":"{ b }"}]}"#;
        assert!(PersistedManifest::from_json(repeated).is_err());
    }
}
