//! The router's other defenses, end to end: CSRF prevention, limits on documents and
//! bodies, per-client rate limits, per-subgraph timeouts, and the readiness probe.

mod helpers;

use std::time::{Duration, Instant};

use std::num::NonZeroU32;

use agora_router::{CircuitBreaker, Limits, RateLimit};
use helpers::{Options, TestGraph, series, spawn, spawn_configured};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");
const BODY: &str = r#"{"query":"{ motd }"}"#;

fn assert_csrf_refused(graph: &TestGraph, response: &helpers::Response) {
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["CSRF_PREVENTION"],
        "{}",
        response.body
    );
    assert_eq!(graph.subgraph_requests(), 0);
}

// ---- CSRF prevention ------------------------------------------------------------------

#[tokio::test]
async fn posts_a_form_could_send_are_refused_as_csrf() {
    let graph = spawn().await;

    for content_type in [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = graph
            .post_raw(BODY, &[("content-type", content_type)])
            .await;
        assert_csrf_refused(&graph, &response);
    }
    let response = graph.post_raw(BODY, &[]).await;
    assert_csrf_refused(&graph, &response);
}

#[tokio::test]
async fn json_posts_pass_csrf_prevention() {
    let graph = spawn().await;

    let response = graph
        .post_raw(BODY, &[("content-type", "application/json; charset=utf-8")])
        .await;

    assert_eq!(response.status, 200);
    assert_eq!(
        response.body,
        json!({ "data": { "motd": "Welcome to Agora" } })
    );
}

#[tokio::test]
async fn a_preflight_header_lets_a_simple_request_past_csrf_but_the_body_must_be_json() {
    let graph = spawn().await;
    // An empty preflight header proves nothing.
    let response = graph
        .post_raw(
            BODY,
            &[
                ("content-type", "text/plain"),
                ("apollo-require-preflight", ""),
            ],
        )
        .await;
    assert_csrf_refused(&graph, &response);

    for header in ["apollo-require-preflight", "x-apollo-operation-name"] {
        let response = graph
            .post_raw(BODY, &[("content-type", "text/plain"), (header, "true")])
            .await;
        assert_eq!(response.status, 415, "{}", response.body);
        assert_eq!(
            TestGraph::error_codes(&response.body),
            ["UNSUPPORTED_MEDIA_TYPE"]
        );
    }
    // Without a content type, the preflight header is enough and the body is read as JSON.
    let response = graph
        .post_raw(BODY, &[("apollo-require-preflight", "true")])
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn get_queries_need_a_preflight_header_or_a_json_content_type() {
    let graph = spawn().await;
    let params = [("query", "{ motd }")];

    let (status, body) = graph.get_with(&params, &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("CSRF_PREVENTION"), "{body}");
    let (status, body) = graph
        .get_with(&params, &[("content-type", "text/plain")])
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("CSRF_PREVENTION"), "{body}");
    assert_eq!(graph.subgraph_requests(), 0);

    for headers in [
        [("apollo-require-preflight", "true")],
        [("x-apollo-operation-name", "Motd")],
        [JSON],
    ] {
        let (status, body) = graph.get_with(&params, &headers).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, r#"{"data":{"motd":"Welcome to Agora"}}"#);
    }
}

#[tokio::test]
async fn graphiql_is_served_to_browsers_despite_csrf_prevention() {
    let graph = spawn().await;

    let (status, body) = graph
        .get_with(&[], &[("accept", "text/html,application/xhtml+xml")])
        .await;

    assert_eq!(status, 200);
    assert!(body.contains("GraphiQL"));
}

#[tokio::test]
async fn csrf_prevention_can_be_turned_off() {
    let graph = spawn_configured(Options::default(), |config| {
        config.csrf_prevention = false;
    })
    .await;

    let (status, body) = graph.get_with(&[("query", "{ motd }")], &[]).await;

    assert_eq!(status, 200, "{body}");
}

// ---- rate limits ----------------------------------------------------------------------

/// A limit of one request per second, in bursts of `burst`.
fn one_per_second(burst: u32) -> RateLimit {
    RateLimit {
        requests_per_second: NonZeroU32::MIN,
        burst: NonZeroU32::new(burst).unwrap(),
    }
}

fn assert_rate_limited(response: &helpers::Response) {
    assert_eq!(response.status, 429, "{}", response.body);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["RATE_LIMITED"],
        "{}",
        response.body
    );
    assert_eq!(response.headers["retry-after"], "1");
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_with_retry_after() {
    let graph = spawn_configured(Options::default(), |config| {
        config.rate_limit = Some(one_per_second(2));
    })
    .await;

    for _ in 0..2 {
        let response = graph.post(json!({ "query": "{ motd }" }), None).await;
        assert_eq!(response.status, 200, "{}", response.body);
    }
    let response = graph.post(json!({ "query": "{ motd }" }), None).await;

    assert_rate_limited(&response);
    assert_eq!(
        graph.subgraph_requests(),
        2,
        "the refused request went nowhere"
    );
}

#[tokio::test]
async fn behind_a_proxy_the_rate_limit_follows_the_address_it_forwards() {
    let graph = spawn_configured(Options::default(), |config| {
        config.rate_limit = Some(one_per_second(1));
        config.client_ip_header = Some("x-forwarded-for".to_owned());
    })
    .await;
    let from = |address: &'static str| [JSON, ("x-forwarded-for", address)];

    let first = graph.post_raw(BODY, &from("198.51.100.9, 10.0.0.1")).await;
    let again = graph.post_raw(BODY, &from("203.0.113.5, 10.0.0.1")).await;
    let other = graph.post_raw(BODY, &from("10.0.0.2")).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_rate_limited(&again);
    assert_eq!(other.status, 200, "{}", other.body);
}

#[tokio::test]
async fn rate_limiting_can_be_turned_off() {
    let graph = spawn_configured(Options::default(), |config| config.rate_limit = None).await;
    let default_burst = RateLimit::default().burst.get();

    for _ in 0..=default_burst {
        let response = graph.post_raw(BODY, &[JSON]).await;
        assert_eq!(response.status, 200, "{}", response.body);
    }
}

// ---- limits ---------------------------------------------------------------------------

async fn spawn_with_limits(limits: Limits) -> TestGraph {
    spawn_configured(Options::default(), |config| config.limits = limits).await
}

/// Asserts that `query` is refused with 400 and `code`, before any subgraph is asked.
async fn assert_limited(graph: &TestGraph, query: &str, code: &str) {
    let response = graph.post(json!({ "query": query }), None).await;
    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        [code],
        "{}",
        response.body
    );
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn operations_deeper_than_the_limit_are_refused() {
    let graph = spawn_with_limits(Limits {
        max_depth: 3,
        ..Limits::default()
    })
    .await;

    assert_limited(
        &graph,
        "{ me { posts { author { handle } } } }",
        "MAX_DEPTH_EXCEEDED",
    )
    .await;
    assert_limited(
        &graph,
        "{ me { ...P } } fragment P on User { posts { author { handle } } }",
        "MAX_DEPTH_EXCEEDED",
    )
    .await;
    let body = graph.query("{ me { posts { title } } }").await;
    assert_eq!(
        body["data"]["me"]["posts"][0]["title"],
        "Notes on the Analytical Engine"
    );
}

#[tokio::test]
async fn the_default_depth_limit_refuses_a_sixteen_level_query() {
    let graph = spawn().await;
    // me { posts { author { posts { author … handle … } } } }: 1 + 2 per round trip.
    let mut query = "handle".to_owned();
    for _ in 0..7 {
        query = format!("posts {{ author {{ {query} }} }}");
    }
    let query = format!("{{ me {{ {query} }} }}");

    assert_limited(&graph, &query, "MAX_DEPTH_EXCEEDED").await;
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let graph = spawn().await;
    let aliases: String = (0..31).map(|i| format!("m{i}: motd ")).collect();
    let query = format!("{{ me {{ id }} {aliases} }}");

    assert_limited(&graph, &query, "MAX_ALIASES_EXCEEDED").await;
}

#[tokio::test]
async fn too_many_root_fields_are_refused() {
    let graph = spawn().await;
    let fields: String = (0..21).map(|i| format!("m{i}: motd ")).collect();
    let query = format!("{{ {fields} }}");

    assert_limited(&graph, &query, "MAX_ROOT_FIELDS_EXCEEDED").await;

    let fields: String = (0..20).map(|i| format!("m{i}: motd ")).collect();
    let body = graph.query(&format!("{{ {fields} }}")).await;
    assert_eq!(body["data"]["m19"], "Welcome to Agora", "{body}");
}

#[tokio::test]
async fn documents_with_too_many_tokens_are_refused_before_parsing() {
    let graph = spawn_with_limits(Limits {
        max_tokens: 50,
        ..Limits::default()
    })
    .await;
    // 60 tokens that would not even parse: the token count comes first.
    let query = "{ motd ".repeat(30);

    assert_limited(&graph, &query, "MAX_TOKENS_EXCEEDED").await;
}

#[tokio::test]
async fn deeply_nested_brackets_are_refused_without_crashing_the_router() {
    let graph = spawn().await;
    let query = format!("{}{}", "{ me ".repeat(50_000), "}".repeat(50_000));

    assert_limited(&graph, &query, "MAX_DEPTH_EXCEEDED").await;
    let body = graph.query("{ motd }").await;
    assert_eq!(body["data"]["motd"], "Welcome to Agora");
}

#[tokio::test]
async fn bodies_over_the_size_limit_are_refused_with_413() {
    let graph = spawn().await;
    let padding = " ".repeat(1024 * 1024);
    let body = format!(r#"{{"query":"{{ motd }}{padding}"}}"#);

    let response = graph.post_raw(body, &[JSON]).await;

    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["PAYLOAD_TOO_LARGE"]
    );
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let graph = spawn_with_limits(Limits {
        max_body_bytes: 64,
        ..Limits::default()
    })
    .await;

    let small = graph.post_raw(BODY, &[JSON]).await;
    let large = graph
        .post_raw(
            r#"{"query":"{ motd }", "operationName": null, "variables": {"x": "0123456789"}}"#,
            &[JSON],
        )
        .await;

    assert_eq!(small.status, 200);
    assert_eq!(large.status, 413);
}

// ---- timeouts and readiness -----------------------------------------------------------

#[tokio::test]
async fn a_subgraph_slower_than_its_own_timeout_is_abandoned() {
    let graph = spawn_configured(Options::default(), |config| {
        config
            .subgraph_timeouts
            .insert("profiles".to_owned(), Duration::from_millis(200));
    })
    .await;
    let started = Instant::now();

    let body = graph.query("{ slowMotd(millis: 3000) }").await;

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // `slowMotd` is non-null, so its error nulls `data`.
    assert_eq!(body["data"], serde_json::Value::Null, "{body}");
    assert_eq!(
        TestGraph::error_codes(&body),
        ["SUBGRAPH_REQUEST_FAILED"],
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{body}"
    );
}

#[tokio::test]
async fn the_default_subgraph_timeout_applies_to_every_subgraph() {
    let graph = spawn_configured(Options::default(), |config| {
        config.subgraph_timeout = Duration::from_millis(200);
    })
    .await;

    let body = graph.query("{ slowMotd(millis: 3000) }").await;

    assert_eq!(
        TestGraph::error_codes(&body),
        ["SUBGRAPH_REQUEST_FAILED"],
        "{body}"
    );
    let body = graph.query("{ slowMotd(millis: 0) }").await;
    assert_eq!(
        body,
        json!({ "data": { "slowMotd": "Welcome, eventually" } })
    );
}

#[tokio::test]
async fn ready_answers_once_a_supergraph_is_loaded() {
    let graph = spawn().await;

    let response = reqwest::get(format!("{}/ready", graph.router_url))
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({ "status": "READY" })
    );
}

// ---- metrics --------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_requests_plan_cache_hits_and_errors_by_code() {
    let graph = spawn().await;

    graph.query("{ me { displayName } }").await;
    graph.query("{ me { displayName } }").await;
    graph.query("{ me { secret } }").await;
    graph.query("{ me { ").await;
    graph
        .post_raw(BODY, &[("content-type", "text/plain")])
        .await;

    let metrics = graph.metrics().await;
    let value = |name: &str| series(&metrics, name).unwrap_or_else(|| panic!("{name}\n{metrics}"));
    assert_eq!(value("agora_router_request_duration_seconds_count"), 5.0);
    assert_eq!(value(r#"agora_router_plan_cache_total{result="hit"}"#), 1.0);
    assert_eq!(
        value(r#"agora_router_plan_cache_total{result="miss"}"#),
        2.0
    );
    assert_eq!(
        value(r#"agora_router_errors_total{code="GRAPHQL_PARSE_FAILED"}"#),
        1.0
    );
    assert_eq!(
        value(r#"agora_router_errors_total{code="CSRF_PREVENTION"}"#),
        1.0
    );
    assert_eq!(
        value(r#"agora_router_errors_total{code="UNAUTHENTICATED"}"#),
        1.0
    );
    assert_eq!(
        value(r#"agora_router_subgraph_request_duration_seconds_count{subgraph="identity"}"#),
        3.0
    );
    assert_eq!(
        value(r#"agora_router_subgraph_request_duration_seconds_count{subgraph="profiles"}"#),
        2.0
    );
    assert!(
        metrics.contains(r#"agora_router_request_duration_seconds_bucket{le="0.005"}"#),
        "histograms, not summaries:\n{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_subgraph_failures_per_subgraph() {
    let graph = helpers::spawn_with(Options {
        profiles_down: true,
        ..Options::default()
    })
    .await;

    graph.query("{ me { handle displayName } }").await;

    let metrics = graph.metrics().await;
    assert_eq!(
        series(
            &metrics,
            r#"agora_router_subgraph_errors_total{subgraph="profiles"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        series(
            &metrics,
            r#"agora_router_errors_total{code="SUBGRAPH_REQUEST_FAILED"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_subgraph_that_keeps_failing_is_not_asked_while_its_circuit_is_open() {
    let graph = spawn_configured(
        Options {
            profiles_down: true,
            ..Options::default()
        },
        |config| {
            config.circuit_breaker = Some(CircuitBreaker {
                failure_threshold: 2,
                open_for: Duration::from_millis(300),
            });
        },
    )
    .await;
    let query = "{ me { handle displayName } }";
    let attempts = |metrics: &str| {
        series(
            metrics,
            r#"agora_router_subgraph_request_duration_seconds_count{subgraph="profiles"}"#,
        )
    };

    let mut last = Value::Null;
    for _ in 0..4 {
        last = graph.query(query).await;
    }
    assert_eq!(
        attempts(&graph.metrics().await),
        Some(2.0),
        "two failures open it"
    );
    assert_eq!(last["data"]["me"]["handle"], "ada", "partial data: {last}");
    assert_eq!(last["data"]["me"]["displayName"], Value::Null);
    let message = last["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("failed repeatedly"), "{last}");

    tokio::time::sleep(Duration::from_millis(350)).await;
    graph.query(query).await;
    graph.query(query).await;
    assert_eq!(
        attempts(&graph.metrics().await),
        Some(3.0),
        "one probe after the wait, and its failure opens the circuit again"
    );
}

#[tokio::test]
async fn a_timeout_for_a_subgraph_the_supergraph_does_not_define_stops_the_start() {
    let supergraph_sdl = agora_router::compose(&helpers::subgraph_sdls()).unwrap();
    let config = agora_router::RouterConfig {
        supergraph_sdl,
        listen: "127.0.0.1:0".parse().unwrap(),
        subgraph_timeouts: [("identty".to_owned(), Duration::from_secs(1))].into(),
        ..agora_router::RouterConfig::default()
    };

    let error = agora_router::Server::bind(config).await.err().unwrap();

    assert!(error.to_string().contains("identty"), "{error}");
}
