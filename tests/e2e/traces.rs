//! One trace from a client's request to the event handlers it causes: the router's
//! request, content's request, the outbox row written in it, the event's publication and
//! social's handling of it (the trace context travels in the event's envelope). Spans
//! are collected with an in-memory exporter.

use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

use crate::helpers;

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// The value of attribute `key` of `span`, as text.
fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

// The subscriber is the process's default, seeing the spans of every test from here on
// (only this trace's are looked at): a thread's default missed spans while other tests ran
// platforms of their own, as tracing decides per callsite, for the whole process, whether
// anyone listens.
#[tokio::test]
async fn a_post_is_one_trace_from_the_request_through_its_event_to_the_consumer() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry().with(agora_telemetry::layer(&provider, "e2e"));
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    let app = helpers::spawn().await;
    let ada = app.register("ada").await;

    let response: serde_json::Value = app
        .client
        .post(app.url())
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .bearer_auth(&ada.access_token)
        .json(&json!({ "query": "mutation { createPost(input: { body: \"traced #otel\" }) { post { id } } }" }))
        .send()
        .await
        .expect("router answers")
        .json()
        .await
        .expect("JSON");
    assert!(response["errors"].is_null(), "{response}");

    let trace = TraceId::from_hex(CLIENT_TRACE).unwrap();
    let handled_by_social = |span: &SpanData| {
        span.name == "event handle"
            && span.span_context.trace_id() == trace
            && attribute(span, "event_type").as_deref() == Some("content.post.created")
            && attribute(span, "consumer").is_some_and(|name| name.starts_with("social"))
    };
    // The relay's publish span ends when JetStream acknowledges, which can come after
    // the consumer has already handled the event: wait for both.
    let published_here = |span: &SpanData| {
        span.name == "event publish"
            && span.span_context.trace_id() == trace
            && attribute(span, "event_type").as_deref() == Some("content.post.created")
    };
    let mut spans = Vec::new();
    for _ in 0..400 {
        spans = exporter.get_finished_spans().unwrap();
        if spans.iter().any(handled_by_social) && spans.iter().any(published_here) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let in_trace: Vec<&SpanData> = spans
        .iter()
        .filter(|span| span.span_context.trace_id() == trace)
        .collect();
    let ids: Vec<SpanId> = in_trace.iter().map(|s| s.span_context.span_id()).collect();
    let named = |name: &str| -> Vec<&SpanData> {
        in_trace
            .iter()
            .copied()
            .filter(|s| s.name == name)
            .collect()
    };

    let requests = named("graphql request");
    assert!(
        requests.len() >= 2,
        "the router's request and content's: {in_trace:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|s| s.parent_span_id == SpanId::from_hex(CLIENT_SPAN).unwrap()),
        "the router's request continues the client's span"
    );
    let [enqueued] = named("enqueue")[..] else {
        panic!("one outbox row written in the trace: {in_trace:#?}");
    };
    assert_eq!(
        attribute(enqueued, "event_type").as_deref(),
        Some("content.post.created")
    );
    let published: Vec<&SpanData> = named("event publish")
        .into_iter()
        .filter(|s| attribute(s, "event_type").as_deref() == Some("content.post.created"))
        .collect();
    let [published] = published[..] else {
        panic!("one publication of the event in the trace: {in_trace:#?}");
    };
    let handled = in_trace
        .iter()
        .find(|span| handled_by_social(span))
        .unwrap_or_else(|| panic!("social handled the event in the trace: {in_trace:#?}"));
    for span in [published, *handled] {
        assert!(
            ids.contains(&span.parent_span_id),
            "{} hangs under a span of the request",
            span.name
        );
    }
}
