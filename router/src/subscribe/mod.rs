//! Operations over streaming transports: subscriptions, and queries and mutations sent
//! the same way (one result, then complete).
//!
//! A subscription runs the pipeline's stages like any operation (token, limits,
//! validation, plan). The planner gives a `Subscription` node (the fetch from the
//! subgraph owning the root field), possibly followed by more plan steps: the first
//! fetch becomes a graphql-transport-ws subscription to that subgraph ([`upstream`]),
//! and every event it sends is completed by the executor with the rest of the plan
//! and projected onto the client's selection, in order.
//!
//! The transports ([`ws_server`], [`sse`]) only frame the [`Event`]s that [`start`]
//! yields.

pub(crate) mod sse;
mod upstream;
pub(crate) mod ws_server;

use std::sync::Arc;

use axum::http::HeaderValue;
use futures::stream::{self, BoxStream, StreamExt};
use hive_router_query_planner::planner::plan_nodes::{FetchNode, PlanNode, SequenceNode};
use serde_json::{Map, Value};

pub(crate) use upstream::Upstreams;
use upstream::{UpstreamEvent, UpstreamSubscription};

use crate::error::ErrorCode;
use crate::execute::request_body;
use crate::operation::OperationKind;
use crate::pipeline::{Gateway, GraphQLRequest, Prepared, Transport};
use crate::rate_limit::Client;
use crate::response::{GraphQLError, Rejection};
use crate::variables::selection_included;

/// One frame for the client.
pub(crate) enum Event {
    /// A response body, `{"data": .., "errors": [..]}`.
    Next(Vec<u8>),
    /// The operation failed and is over (a subgraph refused it or went away).
    Error(Vec<GraphQLError>),
}

/// The events of one operation; the stream ends when the operation completes.
pub(crate) type Events = BoxStream<'static, Event>;

/// Prepares and starts one admitted operation. A query or mutation runs to its
/// single result before this returns; a subscription is subscribed upstream, and
/// completes when the upstream does or the router stops.
pub(crate) async fn start(
    gateway: Arc<Gateway>,
    request: GraphQLRequest,
    authorization: Option<HeaderValue>,
    is_get: bool,
    client: &Client,
) -> Result<Events, Rejection> {
    let prepared = gateway.prepare(request, Transport::Stream { is_get }, Some(client))?;
    let prepared = gateway.without_defer(prepared)?;
    let operation = &prepared.operation;
    if operation.kind != OperationKind::Subscription {
        let body = gateway.execute(&prepared, authorization.as_ref()).await;
        return Ok(stream::iter([Event::Next(body)]).boxed());
    }
    let split = operation
        .plan
        .as_ref()
        .map(|plan| split(plan, &prepared.variables));
    let (primary, rest) = match split {
        Some(Some(Split::Subscribe { primary, rest })) => (primary, rest),
        // Every root field skipped by `@skip`/`@include`: nothing to subscribe to.
        None | Some(Some(Split::Nothing)) => {
            let body = gateway.execute(&prepared, authorization.as_ref()).await;
            return Ok(stream::iter([Event::Next(body)]).boxed());
        }
        Some(None) => {
            tracing::error!(plan = ?operation.plan, "a subscription plan of an unknown shape");
            return Err(Rejection::new(
                "The subscription could not be planned",
                ErrorCode::QueryPlanningFailed,
            ));
        }
    };
    let payload = request_body(
        &primary.operation.document_str,
        &[],
        primary.variable_usages.as_ref(),
        &prepared.variables,
    );
    let service = primary.service_name.clone();
    let upstream = prepared
        .supergraph
        .upstreams
        .subscribe(&service, authorization.as_ref(), payload)
        .ok_or_else(|| {
            Rejection::new(
                format!("No subscription URL is known for '{service}'"),
                ErrorCode::SubgraphRequestFailed,
            )
        })?;
    let running = Running {
        gateway,
        prepared,
        authorization,
        service,
        rest,
        upstream,
    };
    let closing = running.gateway.closing().clone();
    Ok(stream::unfold(Some(running), |running| async move {
        let mut running = running?;
        match running.upstream.next().await {
            UpstreamEvent::Next(response) => {
                let body = running
                    .gateway
                    .execute_event(
                        &running.prepared,
                        running.rest.as_deref(),
                        response,
                        running.authorization.as_ref(),
                    )
                    .await;
                Some((Event::Next(body), Some(running)))
            }
            UpstreamEvent::Error(errors) => {
                let errors = errors.into_iter().map(GraphQLError::from_subgraph).collect();
                Some((Event::Error(errors), None))
            }
            UpstreamEvent::Complete => None,
            UpstreamEvent::Failed(reason) => {
                tracing::warn!(subgraph = %running.service, reason, "subscription ended by its subgraph");
                let error = GraphQLError::new(
                    format!(
                        "The subscription to '{}' ended: {reason}",
                        running.service
                    ),
                    ErrorCode::SubgraphRequestFailed,
                )
                .with_extension("serviceName", Value::from(running.service));
                Some((Event::Error(vec![error]), None))
            }
        }
    })
    // A stopping router completes its subscriptions.
    .take_until(closing.cancelled_owned())
    .boxed())
}

/// A subscription in progress. Dropping it (the client left or completed) releases
/// the upstream subscription.
struct Running {
    gateway: Arc<Gateway>,
    /// The operation, with the supergraph it runs on for as long as it runs.
    prepared: Prepared,
    authorization: Option<HeaderValue>,
    service: String,
    /// The plan after the first fetch, run for every event.
    rest: Option<Box<PlanNode>>,
    upstream: UpstreamSubscription,
}

/// A subscription plan taken apart.
enum Split {
    /// The fetch to subscribe with, and what to run for each of its events.
    Subscribe {
        primary: Box<FetchNode>,
        rest: Option<Box<PlanNode>>,
    },
    /// `@skip`/`@include` conditions removed the subscription field.
    Nothing,
}

/// Takes a subscription plan apart: a `Subscription` node alone or first in a
/// `Sequence`, possibly under `Condition`s (decided here, from the variables). `None`
/// for any other shape.
fn split(plan: &PlanNode, variables: &Map<String, Value>) -> Option<Split> {
    match plan {
        PlanNode::Subscription(subscription) => Some(Split::Subscribe {
            primary: Box::new(subscription.primary.clone()),
            rest: None,
        }),
        PlanNode::Sequence(sequence) => match sequence.nodes.split_first() {
            Some((PlanNode::Subscription(subscription), rest)) => Some(Split::Subscribe {
                primary: Box::new(subscription.primary.clone()),
                rest: match rest {
                    [] => None,
                    [node] => Some(Box::new(node.clone())),
                    nodes => Some(Box::new(PlanNode::Sequence(SequenceNode {
                        nodes: nodes.to_vec(),
                    }))),
                },
            }),
            _ => None,
        },
        PlanNode::Condition(condition) => {
            let branch = if selection_included(None, Some(&condition.condition), variables) {
                condition.if_clause.as_deref()
            } else {
                condition.else_clause.as_deref()
            };
            match branch {
                Some(branch) => split(branch, variables),
                None => Some(Split::Nothing),
            }
        }
        _ => None,
    }
}
