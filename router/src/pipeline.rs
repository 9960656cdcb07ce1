//! The request pipeline, one stage after another: admit (authenticate the bearer
//! token and count the request against its client's rate limit, done by `http` before
//! a handler runs, or by `ws_server` per socket and subscription), resolve a persisted
//! document, prepare (count tokens, parse, check limits, validate, plan, or take all
//! of it from the cache), check the transport and variables, count the operation's
//! sensitive fields against the client's stricter limits, execute the plan, answer
//! introspection, and project the result onto the client's selection.
//! Subscriptions go through the same stages (see `subscribe`), each event executed
//! from the subscription's first fetch onwards.

use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::http::{HeaderName, HeaderValue};
use futures::stream::{self, BoxStream, StreamExt};
use hive_router_query_planner::planner::plan_nodes::PlanNode;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::browser::AllowedOrigins;
use crate::config::{Cors, Limits, RouterConfig};
use crate::defer::{self, Fragment};
use crate::error::{ErrorCode, RouterError};
use crate::execute::{Execution, SubgraphResponse};
use crate::operation::{OperationKind, PreparedOperation, Preparer};
use crate::persisted::{DocumentRef, Documents};
use crate::rate_limit::{Client, RateLimiter, Refused, SensitiveLimiter};
use crate::response::{GraphQLError, Rejection, write_json};
use crate::supergraph::{Reloaded, Supergraph};
use crate::telemetry::Telemetry;
use crate::validate::Validator;
use crate::value::{Object, Value as Data};
use crate::variables;

/// A GraphQL-over-HTTP request, from a POST body or GET query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphQLRequest {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    /// A persisted document's id (GraphQL over HTTP's persisted-document proposal).
    pub document_id: Option<String>,
    pub extensions: Option<RequestExtensions>,
}

/// The request `extensions` the router reads; others are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestExtensions {
    /// Apollo's persisted-query reference: `{"version": 1, "sha256Hash": ".."}`.
    pub persisted_query: Option<PersistedQuery>,
}

/// `extensions.persistedQuery`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PersistedQuery {
    pub sha256_hash: String,
}

impl GraphQLRequest {
    /// The document the request names: its text and its id, if any.
    fn document(&self) -> DocumentRef<'_> {
        let hash = self
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.persisted_query.as_ref())
            .map(|persisted| persisted.sha256_hash.as_str());
        DocumentRef {
            query: self.query.as_deref(),
            id: self.document_id.as_deref().or(hash),
        }
    }
}

/// What the pipeline needs from the HTTP request besides the GraphQL request.
pub(crate) struct RequestContext<'a> {
    /// GET requests may only run queries.
    pub is_get: bool,
    /// Forwarded to every subgraph request; already verified (see `Gateway::admit`).
    pub authorization: Option<&'a HeaderValue>,
    /// The client accepts `multipart/mixed`, so `@defer` can be delivered incrementally.
    pub incremental: bool,
    /// Who the request counts against (see `Gateway::admit`).
    pub client: &'a Client,
}

/// What a request gets back.
pub(crate) enum Answer {
    /// One response body.
    Single(Vec<u8>),
    /// `@defer` delivered incrementally: the initial payload, then the deferred ones.
    Incremental(BoxStream<'static, Vec<u8>>),
}

/// How an operation arrived, which decides what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// GraphQL over HTTP, one response per request: no subscriptions.
    Http { is_get: bool },
    /// A stream of responses (SSE or graphql-transport-ws): any operation.
    Stream { is_get: bool },
}

impl Transport {
    /// GET requests may only run queries and subscriptions (no side effects).
    fn is_get(self) -> bool {
        match self {
            Self::Http { is_get } | Self::Stream { is_get } => is_get,
        }
    }
}

/// The router's shared state: the current supergraph, and what does not depend on it
/// (admission, persisted documents, limits, telemetry).
pub(crate) struct Gateway {
    /// Replaced as a whole by [`Gateway::reload`].
    supergraph: RwLock<Arc<Supergraph>>,
    /// The settings a reloaded supergraph is built with (its SDL is not kept here).
    config: RouterConfig,
    validator: Validator,
    /// Cancelled when the server stops, so that streams end and shutdown can drain.
    closing: CancellationToken,
    /// `None` when JWT validation is not configured.
    authenticator: Option<Authenticator>,
    /// `None` when rate limiting is off.
    rate_limiter: Option<RateLimiter>,
    /// `None` when sensitive fields are not limited.
    sensitive_limiter: Option<SensitiveLimiter>,
    /// The CORS origins, parsed.
    allowed_origins: Arc<AllowedOrigins>,
    /// Persisted documents and APQ.
    documents: Documents,
    /// The proxy header that carries the client's address, when configured.
    client_ip_header: Option<HeaderName>,
    telemetry: Telemetry,
}

/// An operation ready to execute, with the supergraph it was prepared against (kept
/// until it finishes, whatever reloads happen meanwhile) and its coerced variables.
pub(crate) struct Prepared {
    pub supergraph: Arc<Supergraph>,
    pub operation: Arc<PreparedOperation>,
    pub variables: Map<String, Value>,
}

impl Gateway {
    pub fn new(config: &RouterConfig) -> Result<Self, RouterError> {
        let telemetry = Telemetry::new();
        let supergraph = Supergraph::load(&config.supergraph_sdl, config, &telemetry)?;
        let authenticator = config.auth.clone().map(Authenticator::new).transpose()?;
        let client_ip_header = config
            .client_ip_header
            .as_deref()
            .map(|name| {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| RouterError::ClientIpHeader(name.to_owned()))
            })
            .transpose()?;
        let allowed_origins = Arc::new(AllowedOrigins::parse(&config.cors.origins)?);
        Ok(Self {
            supergraph: RwLock::new(Arc::new(supergraph)),
            config: RouterConfig {
                supergraph_sdl: String::new(),
                ..config.clone()
            },
            validator: Validator::new(),
            closing: CancellationToken::new(),
            authenticator,
            rate_limiter: config.rate_limit.map(RateLimiter::new),
            sensitive_limiter: config.sensitive_limits.as_ref().map(SensitiveLimiter::new),
            allowed_origins,
            documents: Documents::new(config.persisted_documents.clone(), config.apq),
            client_ip_header,
            telemetry,
        })
    }

    /// The supergraph new requests are prepared against.
    pub fn current(&self) -> Arc<Supergraph> {
        Arc::clone(
            &self
                .supergraph
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Builds the planner for `sdl`, prepares the current plan cache's operations
    /// against it, and makes it current; requests in flight finish on the old one. On
    /// error the current supergraph stays.
    pub fn reload(&self, sdl: &str) -> Result<Reloaded, RouterError> {
        let next = Supergraph::load(sdl, &self.config, &self.telemetry)?;
        let previous = self.current();
        let mut reloaded = Reloaded {
            warmed: 0,
            dropped: 0,
        };
        for (query, operation_name, draw) in previous.operations.keys() {
            if !next.planner.knows(draw) {
                continue;
            }
            let operation_name = operation_name.as_deref();
            let prepared = next
                .operations
                .get_or_prepare(&query, operation_name, draw, || {
                    self.preparer(&next).prepare(&query, operation_name, draw)
                });
            match prepared {
                Ok(_) => reloaded.warmed += 1,
                Err(_) => reloaded.dropped += 1,
            }
        }
        *self
            .supergraph
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(reloaded)
    }

    fn preparer<'a>(&'a self, supergraph: &'a Supergraph) -> Preparer<'a> {
        Preparer {
            planner: &supergraph.planner,
            schema: &supergraph.schema,
            validator: &self.validator,
            introspection_enabled: self.config.introspection,
            limits: &self.config.limits,
            sensitive_fields: self
                .sensitive_limiter
                .as_ref()
                .map_or(&[], SensitiveLimiter::fields),
        }
    }

    /// The request limits in force.
    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// The router's metrics.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The proxy header that carries the client's address, when configured.
    pub fn client_ip_header(&self) -> Option<&HeaderName> {
        self.client_ip_header.as_ref()
    }

    /// The CORS settings, and the origins they list, parsed.
    pub fn cors(&self) -> (&Cors, &Arc<AllowedOrigins>) {
        (&self.config.cors, &self.allowed_origins)
    }

    /// Whether requests must prove they were preflighted.
    pub fn csrf_prevention(&self) -> bool {
        self.config.csrf_prevention
    }

    /// Cancelled when the server stops: subscriptions complete and WebSockets close
    /// (SSE responses and upgraded sockets would otherwise outlive the drain).
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }

    /// Runs one admitted request and returns its response, or the rejection of a
    /// request that cannot be executed. A query with active `@defer`s, from a client that
    /// accepts `multipart/mixed`, is answered incrementally.
    pub async fn handle(
        self: &Arc<Self>,
        request: GraphQLRequest,
        context: RequestContext<'_>,
    ) -> Result<Answer, Rejection> {
        let transport = Transport::Http {
            is_get: context.is_get,
        };
        let prepared = self.prepare(request, transport, Some(context.client))?;
        if let Some(deferred) = &prepared.operation.deferred
            && context.incremental
            && prepared.operation.kind == OperationKind::Query
        {
            let split = deferred.split(&prepared.variables);
            if !split.fragments.is_empty() {
                let initial = self.variant(&prepared, &split.initial)?;
                let full = self.variant(&prepared, &split.full)?;
                let authorization = context.authorization.cloned();
                return Ok(Answer::Incremental(self.incremental(
                    initial,
                    full,
                    split.fragments,
                    authorization,
                )));
            }
        }
        let prepared = self.without_defer(prepared)?;
        Ok(Answer::Single(
            self.execute(&prepared, context.authorization).await,
        ))
    }

    /// What to run when `@defer` is not delivered incrementally: a deferred operation's
    /// full variant (every fragment inline), any other operation as it is.
    pub fn without_defer(&self, prepared: Prepared) -> Result<Prepared, Rejection> {
        match &prepared.operation.deferred {
            Some(deferred) => {
                let full = deferred.split(&prepared.variables).full;
                self.variant(&prepared, &full)
            }
            None => Ok(prepared),
        }
    }

    /// `text`, a variant of `prepared`'s operation, prepared against the same
    /// supergraph with the same variables.
    fn variant(&self, prepared: &Prepared, text: &str) -> Result<Prepared, Rejection> {
        let supergraph = Arc::clone(&prepared.supergraph);
        let draw = supergraph.planner.draw_overrides();
        let (operation, cached) = supergraph.operations.get_or_prepare(text, None, draw, || {
            self.preparer(&supergraph).prepare(text, None, draw)
        })?;
        self.telemetry.plan_cache(cached);
        let variables = variables::coerce(
            &operation.variables,
            Some(prepared.variables.clone()),
            &supergraph.schema,
        )?;
        Ok(Prepared {
            supergraph,
            operation,
            variables,
        })
    }

    /// Runs the initial and full variants at once: the initial result first, with
    /// `hasNext: true`, then the deferred fragments cut from the full one.
    fn incremental(
        self: &Arc<Self>,
        initial: Prepared,
        full: Prepared,
        fragments: Vec<Fragment>,
        authorization: Option<HeaderValue>,
    ) -> BoxStream<'static, Vec<u8>> {
        let full = tokio::spawn({
            let gateway = Arc::clone(self);
            let authorization = authorization.clone();
            async move { gateway.execute(&full, authorization.as_ref()).await }
        });
        let gateway = Arc::clone(self);
        let first = async move {
            let body = gateway.execute(&initial, authorization.as_ref()).await;
            defer::with_has_next(body)
        };
        let rest = async move {
            let full = full.await.unwrap_or_default();
            defer::subsequent(&full, &fragments)
        };
        stream::once(first).chain(stream::once(rest)).boxed()
    }

    /// Refuses an `Authorization` value that is not a valid bearer token (when JWT
    /// validation is configured); returns the verified token's subject.
    pub async fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Option<String>, Rejection> {
        match &self.authenticator {
            Some(authenticator) => authenticator.authenticate(authorization).await,
            None => Ok(None),
        }
    }

    /// Counts one request against its client's rate limit: the verified subject's,
    /// else the address's. Returns the client, for the stricter limits that are
    /// counted once the operation is known.
    pub fn rate_limit(
        &self,
        subject: Option<String>,
        address: IpAddr,
    ) -> Result<Client, Rejection> {
        let client = Client::of(subject, address);
        if let Some(limiter) = &self.rate_limiter {
            limiter.check(&client).map_err(Rejection::rate_limited)?;
        }
        Ok(client)
    }

    /// Counts a prepared mutation's sensitive fields, each occurrence one attempt,
    /// against the client's stricter limits.
    fn limit_sensitive(
        &self,
        operation: &PreparedOperation,
        client: &Client,
    ) -> Result<(), Rejection> {
        let Some(limiter) = &self.sensitive_limiter else {
            return Ok(());
        };
        if operation.sensitive.is_empty() {
            return Ok(());
        }
        limiter
            .check(client, &operation.sensitive)
            .map_err(|refused| match refused {
                Refused::Wait { field, wait } => Rejection::retry_after(wait, |seconds| {
                    format!("Too many `{field}` attempts: try again in {seconds} s")
                }),
                Refused::OverBurst {
                    field,
                    count,
                    burst,
                    wait,
                } => Rejection::retry_after(wait, |_| {
                    format!(
                        "The operation asks for `{field}` {count} times; at most {burst} \
                         attempts are allowed at once"
                    )
                }),
            })
    }

    /// Forgets rate-limit state of clients that have been quiet long enough.
    pub fn upkeep(&self) {
        if let Some(limiter) = &self.rate_limiter {
            limiter.forget_idle();
        }
        if let Some(limiter) = &self.sensitive_limiter {
            limiter.forget_idle();
        }
    }

    /// Executes a prepared query or mutation and returns the response body.
    pub async fn execute(
        &self,
        prepared: &Prepared,
        authorization: Option<&HeaderValue>,
    ) -> Vec<u8> {
        let Prepared {
            supergraph,
            operation,
            variables,
        } = prepared;
        let (mut data, errors) = match &operation.plan {
            Some(plan) => {
                Execution::new(
                    &supergraph.subgraphs,
                    &supergraph.schema,
                    variables,
                    authorization,
                )
                .run(plan)
                .await
            }
            None => (Data::Object(Object::new()), Vec::new()),
        };
        if let Some(resolved) = operation.introspection(&supergraph.schema, variables)
            && let Data::Object(root) = &mut data
        {
            for (key, value) in resolved {
                root.insert(key, Data::from(value));
            }
        }
        self.response_body(prepared, &data, errors)
    }

    /// Completes one subscription event: `rest` (the plan after the subscription's
    /// first fetch) runs from the event's data, and the result is projected like a
    /// query's. Returns the response body.
    pub async fn execute_event(
        &self,
        prepared: &Prepared,
        rest: Option<&PlanNode>,
        event: SubgraphResponse,
        authorization: Option<&HeaderValue>,
    ) -> Vec<u8> {
        let supergraph = &prepared.supergraph;
        let data = event.data.unwrap_or_default();
        let errors = event
            .errors
            .into_iter()
            .map(GraphQLError::from_subgraph)
            .collect();
        let (data, errors) = match rest {
            Some(rest) => {
                Execution::new(
                    &supergraph.subgraphs,
                    &supergraph.schema,
                    &prepared.variables,
                    authorization,
                )
                .starting_from(data, errors)
                .run(rest)
                .await
            }
            None => (data, errors),
        };
        self.response_body(prepared, &data, errors)
    }

    /// The stages before execution: the query checked, prepared (or taken from the
    /// cache), its kind checked against the transport, its variables coerced, and its
    /// sensitive fields counted against `client` (`None` counts nothing: a dry run).
    pub fn prepare(
        &self,
        request: GraphQLRequest,
        transport: Transport,
        client: Option<&Client>,
    ) -> Result<Prepared, Rejection> {
        let query = self.documents.resolve(request.document())?;
        let query = &*query;
        let operation_name = request.operation_name.as_deref();
        let supergraph = self.current();
        let draw = supergraph.planner.draw_overrides();
        let (operation, cached) =
            supergraph
                .operations
                .get_or_prepare(query, operation_name, draw, || {
                    self.preparer(&supergraph)
                        .prepare(query, operation_name, draw)
                })?;
        self.telemetry.plan_cache(cached);
        match operation.kind {
            OperationKind::Query => {}
            OperationKind::Mutation if transport.is_get() => {
                return Err(Rejection::new(
                    "Mutations can only be sent over HTTP POST",
                    ErrorCode::MethodNotAllowed,
                ));
            }
            OperationKind::Mutation => {}
            OperationKind::Subscription if matches!(transport, Transport::Http { .. }) => {
                return Err(Rejection::new(
                    "Subscriptions need a streaming transport: a graphql-transport-ws \
                     WebSocket, or SSE (`Accept: text/event-stream`)",
                    ErrorCode::OperationNotSupported,
                ));
            }
            OperationKind::Subscription => {}
        }
        let variables =
            variables::coerce(&operation.variables, request.variables, &supergraph.schema)?;
        if let Some(client) = client {
            self.limit_sensitive(&operation, client)?;
        }
        Ok(Prepared {
            supergraph,
            operation,
            variables,
        })
    }

    /// `{"data": .., "errors": [..]}`, with `errors` only when there are some.
    fn response_body(
        &self,
        prepared: &Prepared,
        data: &Data,
        mut errors: Vec<GraphQLError>,
    ) -> Vec<u8> {
        let operation = &prepared.operation;
        let mut out = operation.response_buffer();
        out.extend_from_slice(b"{\"data\":");
        operation.projection.write_data(
            &prepared.supergraph.schema,
            data,
            &prepared.variables,
            &mut errors,
            &mut out,
        );
        if !errors.is_empty() {
            self.telemetry.errors(&errors);
            out.extend_from_slice(b",\"errors\":");
            write_json(&mut out, &errors);
        }
        out.push(b'}');
        operation.record_response_size(out.len());
        out
    }
}
