//! The request pipeline up to execution, as a library call: a document, an operation
//! name and variables in, the query plan or the client's errors out, with nothing
//! bound and no subgraph called.
//!
//! It exists so that `tests/fuzz.rs` can feed arbitrary requests through exactly the
//! stages a served request goes through (token count, parse, limits, validation,
//! planning, the prepared-operation cache, variable coercion), without HTTP in between.

use serde_json::{Map, Value};

use crate::config::RouterConfig;
use crate::error::RouterError;
use crate::pipeline::{Gateway, GraphQLRequest, Transport};

/// A router that plans requests but never executes them.
pub struct DryRun {
    gateway: Gateway,
}

impl DryRun {
    /// Builds everything [`Server::bind`](crate::Server::bind) builds from `config`
    /// (planner, schema, caches, limits) except the listener.
    pub fn new(config: &RouterConfig) -> Result<Self, RouterError> {
        Ok(Self {
            gateway: Gateway::new(config)?,
        })
    }

    /// Prepares one POST request as the router would before executing it. Returns the
    /// query plan as text (empty when nothing needs fetching, as for introspection), or
    /// the JSON body the client would get instead: `{"errors": [..]}`, every error with
    /// an `extensions.code`.
    pub fn plan(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: Option<Map<String, Value>>,
    ) -> Result<String, Value> {
        let request = GraphQLRequest {
            query: Some(query.to_owned()),
            operation_name: operation_name.map(str::to_owned),
            variables,
            ..GraphQLRequest::default()
        };
        match self
            .gateway
            .prepare(request, Transport::Http { is_get: false }, None)
        {
            Ok(prepared) => Ok(prepared
                .operation
                .plan
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()),
            Err(rejection) => Err(rejection.body_json()),
        }
    }
}
