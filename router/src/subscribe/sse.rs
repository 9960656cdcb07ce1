//! GraphQL over Server-Sent Events, "distinct connections mode" of the GraphQL over SSE
//! protocol: a POST or GET `/graphql` with `Accept: text/event-stream` gets a stream of
//! `event: next` frames (`data:` a response body) and ends with `event: complete`.
//!
//! A request refused before it starts (token, limits, validation) is answered as plain
//! GraphQL JSON with its HTTP status, as the protocol asks. A failure after the stream
//! has started is one last `next` frame with the errors, then `complete`. Comment
//! frames keep idle streams alive through proxies. `complete` carries an empty `data:`
//! line so that `EventSource` dispatches it too.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream;
use tokio::time::{Instant, Interval, interval_at};

use super::{Event, Events, start};
use crate::pipeline::{Gateway, GraphQLRequest};
use crate::rate_limit::Client;
use crate::response::{GraphQLError, Rejection, write_json};

/// How often an idle stream sends a comment frame.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

const COMPLETE: &[u8] = b"event: complete\ndata:\n\n";

/// Starts the operation and answers with its event stream.
pub(crate) async fn respond(
    gateway: Arc<Gateway>,
    request: GraphQLRequest,
    authorization: Option<HeaderValue>,
    is_get: bool,
    client: Client,
) -> Result<Response, Rejection> {
    let events = start(gateway, request, authorization, is_get, &client).await?;
    let ticks = interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    let frames = stream::unfold(Some((events, ticks)), next_frame);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            // Tells nginx-style proxies not to buffer the stream.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(frames.map(Ok::<_, Infallible>)),
    )
        .into_response())
}

/// The next frame, and the state after it (`None` once `complete` is written).
async fn next_frame(
    state: Option<(Events, Interval)>,
) -> Option<(Bytes, Option<(Events, Interval)>)> {
    let (mut events, mut ticks) = state?;
    tokio::select! {
        event = events.next() => match event {
            Some(Event::Next(body)) => Some((next(&body, false), Some((events, ticks)))),
            Some(Event::Error(errors)) => Some((next(&errors_body(&errors), true), None)),
            None => Some((Bytes::from_static(COMPLETE), None)),
        },
        _ = ticks.tick() => Some((Bytes::from_static(b":\n\n"), Some((events, ticks)))),
    }
}

/// An `event: next` frame, followed by `complete` when it is the last one. Bodies are
/// compact JSON, so they fit on one `data:` line.
fn next(body: &[u8], last: bool) -> Bytes {
    let mut frame = Vec::with_capacity(body.len() + 32);
    frame.extend_from_slice(b"event: next\ndata: ");
    frame.extend_from_slice(body);
    frame.extend_from_slice(b"\n\n");
    if last {
        frame.extend_from_slice(COMPLETE);
    }
    Bytes::from(frame)
}

fn errors_body(errors: &[GraphQLError]) -> Vec<u8> {
    let mut body = b"{\"errors\":".to_vec();
    write_json(&mut body, errors);
    body.push(b'}');
    body
}
