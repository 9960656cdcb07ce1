//! Tracing across the federation: the router continues the client's W3C trace, opens
//! a span per stage and per subgraph fetch, and hands each subgraph a `traceparent`
//! naming its fetch span, so one request is one trace. Spans are collected with an
//! in-memory exporter.

mod helpers;

use helpers::spawn;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

// One thread: the subscriber below is the thread's default, and the router runs on it.
#[tokio::test(flavor = "current_thread")]
async fn a_request_is_one_trace_from_the_client_through_every_subgraph_fetch() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber =
        tracing_subscriber::registry().with(agora_telemetry::layer(&provider, "router-test"));
    let _default = tracing::subscriber::set_default(subscriber);
    let graph = spawn().await;

    let response = reqwest::Client::new()
        .post(format!("{}/graphql", graph.router_url))
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({ "query": "{ me { handle displayName } }" }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(response["data"]["me"]["handle"], "ada", "{response}");
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let client_trace = TraceId::from_hex(CLIENT_TRACE).unwrap();
    let [request] = named(&spans, "graphql request")[..] else {
        panic!("one request span: {spans:#?}");
    };
    assert_eq!(request.span_context.trace_id(), client_trace);
    assert_eq!(
        request.parent_span_id,
        SpanId::from_hex(CLIENT_SPAN).unwrap()
    );
    for stage in ["parse", "validate", "plan"] {
        let [span] = named(&spans, stage)[..] else {
            panic!("one {stage} span: {spans:#?}");
        };
        assert_eq!(span.span_context.trace_id(), client_trace, "{stage}");
    }
    let fetches = named(&spans, "subgraph fetch");
    assert_eq!(fetches.len(), 2, "identity, then profiles: {fetches:#?}");
    for fetch in &fetches {
        assert_eq!(fetch.span_context.trace_id(), client_trace);
        assert_eq!(fetch.parent_span_id, request.span_context.span_id());
    }
    for (subgraph, stats) in [("identity", &graph.identity), ("profiles", &graph.profiles)] {
        let [Some(traceparent)] = &stats.traceparents()[..] else {
            panic!("{subgraph} got one request with a traceparent");
        };
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts[1], CLIENT_TRACE, "{subgraph}: {traceparent}");
        assert!(
            fetches
                .iter()
                .any(|fetch| fetch.span_context.span_id().to_string() == parts[2]),
            "{subgraph}'s parent is one of the fetch spans: {traceparent}"
        );
    }
}
