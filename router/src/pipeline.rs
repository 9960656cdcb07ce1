//! The request pipeline, one stage after another: authenticate the bearer token,
//! prepare (count tokens, parse, check limits, validate, plan, or take all of it from
//! the cache), check the transport and variables, execute the plan,
//! answer introspection, and project the result onto the client's selection.
//! Subscriptions go through the same stages (see `subscribe`), each event executed
//! from the subscription's first fetch onwards.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderValue;
use hive_router_query_planner::planner::plan_nodes::PlanNode;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::config::{Limits, RouterConfig};
use crate::error::{ErrorCode, RouterError};
use crate::execute::{Execution, SubgraphClient, SubgraphResponse};
use crate::operation::{OperationCache, OperationKind, PreparedOperation, Preparer};
use crate::plan::QueryPlanner;
use crate::response::{GraphQLError, Rejection, write_json};
use crate::schema::SchemaIndex;
use crate::subscribe::Upstreams;
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
    // `extensions` is accepted and ignored until persisted documents arrive.
}

/// What the pipeline needs from the HTTP request besides the GraphQL request.
pub(crate) struct RequestContext<'a> {
    /// GET requests may only run queries.
    pub is_get: bool,
    /// Forwarded to every subgraph request.
    pub authorization: Option<&'a HeaderValue>,
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

/// The router's shared state: planner, schema, caches and the subgraph client.
pub(crate) struct Gateway {
    planner: QueryPlanner,
    schema: SchemaIndex,
    validator: Validator,
    operations: OperationCache,
    subgraphs: SubgraphClient,
    /// The subgraph WebSockets that subscriptions share.
    upstreams: Upstreams,
    /// Cancelled when the server stops, so that streams end and shutdown can drain.
    closing: CancellationToken,
    introspection: bool,
    /// `None` when JWT validation is not configured.
    authenticator: Option<Authenticator>,
    limits: Limits,
    csrf_prevention: bool,
    telemetry: Telemetry,
}

impl Gateway {
    pub fn new(config: &RouterConfig) -> Result<Self, RouterError> {
        let planner = QueryPlanner::new(&config.supergraph_sdl)?;
        let schema = planner.schema_index();
        let endpoints = subgraph_endpoints(planner.endpoints(), &config.subgraph_urls)?;
        let upstreams = Upstreams::new(&endpoints, &config.subgraph_ws_urls)?;
        for name in config.subgraph_timeouts.keys() {
            if !endpoints.contains_key(name) {
                return Err(RouterError::UnknownSubgraph(name.clone()));
            }
        }
        let authenticator = config.auth.clone().map(Authenticator::new).transpose()?;
        let telemetry = Telemetry::new();
        let subgraph_metrics = telemetry.subgraphs(endpoints.keys());
        Ok(Self {
            schema,
            validator: Validator::new(),
            operations: OperationCache::new(),
            subgraphs: SubgraphClient::new(
                endpoints,
                config.subgraph_timeout,
                config.subgraph_timeouts.clone(),
                subgraph_metrics,
            )?,
            upstreams,
            closing: CancellationToken::new(),
            introspection: config.introspection,
            authenticator,
            limits: config.limits,
            csrf_prevention: config.csrf_prevention,
            telemetry,
            planner,
        })
    }

    /// The request limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The router's metrics.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Whether requests must prove they were preflighted.
    pub fn csrf_prevention(&self) -> bool {
        self.csrf_prevention
    }

    /// The subgraph WebSockets that subscriptions share.
    pub fn upstreams(&self) -> &Upstreams {
        &self.upstreams
    }

    /// Cancelled when the server stops: subscriptions complete and WebSockets close
    /// (SSE responses and upgraded sockets would otherwise outlive the drain).
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }

    /// Runs one request to completion and returns the response body, or the rejection
    /// of a request that cannot be executed.
    pub async fn handle(
        &self,
        request: GraphQLRequest,
        context: RequestContext<'_>,
    ) -> Result<Vec<u8>, Rejection> {
        self.authenticate(context.authorization).await?;
        let transport = Transport::Http {
            is_get: context.is_get,
        };
        let (operation, variables) = self.prepare(request, transport)?;
        Ok(self
            .execute(&operation, &variables, context.authorization)
            .await)
    }

    /// Refuses an `Authorization` value that is not a valid bearer token (when JWT
    /// validation is configured).
    pub async fn authenticate(&self, authorization: Option<&HeaderValue>) -> Result<(), Rejection> {
        match &self.authenticator {
            Some(authenticator) => authenticator.authenticate(authorization).await,
            None => Ok(()),
        }
    }

    /// Executes a prepared query or mutation and returns the response body.
    pub async fn execute(
        &self,
        operation: &PreparedOperation,
        variables: &Map<String, Value>,
        authorization: Option<&HeaderValue>,
    ) -> Vec<u8> {
        let (mut data, errors) = match &operation.plan {
            Some(plan) => {
                Execution::new(&self.subgraphs, &self.schema, variables, authorization)
                    .run(plan)
                    .await
            }
            None => (Data::Object(Object::new()), Vec::new()),
        };
        if let Some(resolved) = operation.introspection(&self.schema, variables)
            && let Data::Object(root) = &mut data
        {
            for (key, value) in resolved {
                root.insert(key, Data::from(value));
            }
        }
        self.response_body(operation, &data, variables, errors)
    }

    /// Completes one subscription event: `rest` (the plan after the subscription's
    /// first fetch) runs from the event's data, and the result is projected like a
    /// query's. Returns the response body.
    pub async fn execute_event(
        &self,
        operation: &PreparedOperation,
        rest: Option<&PlanNode>,
        event: SubgraphResponse,
        variables: &Map<String, Value>,
        authorization: Option<&HeaderValue>,
    ) -> Vec<u8> {
        let data = event.data.unwrap_or_default();
        let errors = event
            .errors
            .into_iter()
            .map(GraphQLError::from_subgraph)
            .collect();
        let (data, errors) = match rest {
            Some(rest) => {
                Execution::new(&self.subgraphs, &self.schema, variables, authorization)
                    .starting_from(data, errors)
                    .run(rest)
                    .await
            }
            None => (data, errors),
        };
        self.response_body(operation, &data, variables, errors)
    }

    /// The stages before execution: the query checked, prepared (or taken from the
    /// cache), its kind checked against the transport, and its variables coerced.
    pub fn prepare(
        &self,
        request: GraphQLRequest,
        transport: Transport,
    ) -> Result<(Arc<PreparedOperation>, Map<String, Value>), Rejection> {
        let query = request
            .query
            .as_deref()
            .filter(|query| !query.trim().is_empty())
            .ok_or_else(|| Rejection::new("Must provide query string.", ErrorCode::BadRequest))?;
        let operation_name = request.operation_name.as_deref();
        let (operation, cached) = self.operations.get_or_prepare(query, operation_name, || {
            Preparer {
                planner: &self.planner,
                schema: &self.schema,
                validator: &self.validator,
                introspection_enabled: self.introspection,
                limits: &self.limits,
            }
            .prepare(query, operation_name)
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
        let variables = variables::coerce(&operation.variables, request.variables, &self.schema)?;
        Ok((operation, variables))
    }

    /// `{"data": .., "errors": [..]}`, with `errors` only when there are some.
    fn response_body(
        &self,
        operation: &PreparedOperation,
        data: &Data,
        variables: &Map<String, Value>,
        mut errors: Vec<GraphQLError>,
    ) -> Vec<u8> {
        let mut out = operation.response_buffer();
        out.extend_from_slice(b"{\"data\":");
        operation
            .projection
            .write_data(&self.schema, data, variables, &mut errors, &mut out);
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

/// The supergraph's routing URLs with the configured overrides applied.
fn subgraph_endpoints(
    declared: &HashMap<String, String>,
    overrides: &HashMap<String, String>,
) -> Result<HashMap<String, String>, RouterError> {
    let mut endpoints = declared.clone();
    for (name, url) in overrides {
        let endpoint = endpoints
            .get_mut(name)
            .ok_or_else(|| RouterError::UnknownSubgraph(name.clone()))?;
        endpoint.clone_from(url);
    }
    Ok(endpoints)
}
