//! The router's browser-facing defaults, end to end: CORS only for the listed origins,
//! security headers on every response (GraphiQL under a nonce-based policy), and the
//! stricter per-client limits on `login`, `register` and `requestPasswordReset`,
//! counted per occurrence of the field so that aliases and fragments cannot multiply
//! attempts.

mod helpers;

use std::num::NonZeroU32;

use agora_router::{Cors, RouterConfig, SensitiveLimits};
use helpers::{Options, TestGraph, spawn, spawn_configured};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");
const APP: &str = "https://app.example.org";

// ---- helpers --------------------------------------------------------------------------

/// A preflight for a JSON POST with a bearer token, as a browser sends it from `origin`.
async fn preflight(graph: &TestGraph, origin: &str) -> (u16, HeaderMap, String) {
    let response = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/graphql", graph.router_url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// A GET of `path` with these headers: status, headers and body text.
async fn get(graph: &TestGraph, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, String) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", graph.router_url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.to_str().unwrap())
}

/// The headers every response carries; `csp` is the policy expected.
fn assert_security_headers(headers: &HeaderMap, csp: &str, what: &str) {
    assert_eq!(
        header(headers, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(headers, "referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        header(headers, "content-security-policy"),
        Some(csp),
        "{what}"
    );
}

const STRICT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The graph with CORS for `origins`.
async fn with_origins(origins: &[&str]) -> TestGraph {
    let origins = origins.iter().map(|origin| (*origin).to_owned()).collect();
    spawn_configured(Options::default(), |config| {
        config.cors = Cors {
            origins,
            ..Cors::default()
        };
    })
    .await
}

/// The graph with sensitive fields limited to `burst` attempts, refilled at one a
/// minute (so that no attempt comes back while a test runs), and clients told apart by
/// `x-real-ip` (so that a test has as many fresh clients as it needs).
async fn with_sensitive_burst(burst: u32) -> TestGraph {
    spawn_configured(Options::default(), |config: &mut RouterConfig| {
        config.sensitive_limits = Some(SensitiveLimits {
            per_minute: NonZeroU32::MIN,
            burst: NonZeroU32::new(burst).unwrap(),
            ..SensitiveLimits::default()
        });
        config.client_ip_header = Some("x-real-ip".to_owned());
    })
    .await
}

/// A mutation with `count` aliases of `login`.
fn logins(count: usize) -> String {
    let aliases: Vec<String> = (0..count)
        .map(|i| format!("guess{i}: login(password: \"guess-{i}\")"))
        .collect();
    format!("mutation {{ {} }}", aliases.join(" "))
}

/// POSTs `query` as the client at `address`.
async fn post_from(graph: &TestGraph, address: &str, query: &str) -> helpers::Response {
    graph
        .post_raw(
            json!({ "query": query }).to_string(),
            &[JSON, ("x-real-ip", address)],
        )
        .await
}

fn assert_refused_as_rate_limited(response: &helpers::Response) {
    assert_eq!(response.status, 429, "{}", response.body);
    assert_eq!(
        TestGraph::error_codes(&response.body),
        ["RATE_LIMITED"],
        "{}",
        response.body
    );
    let retry_after: u64 = header(&response.headers, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
}

// ---- CORS -----------------------------------------------------------------------------

#[tokio::test]
async fn without_listed_origins_every_preflight_is_refused_and_no_response_allows_an_origin() {
    let graph = spawn().await;

    for origin in [APP, "http://localhost:3000"] {
        let (status, headers, body) = preflight(&graph, origin).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("ORIGIN_NOT_ALLOWED"), "{body}");
        assert_eq!(header(&headers, "access-control-allow-origin"), None);
        assert_security_headers(&headers, STRICT_CSP, "a refused preflight");
    }
    let response = graph
        .post_raw(r#"{"query":"{ motd }"}"#, &[JSON, ("origin", APP)])
        .await;
    assert_eq!(
        response.status, 200,
        "same-origin and server clients still work"
    );
    assert_eq!(
        header(&response.headers, "access-control-allow-origin"),
        None
    );
}

#[tokio::test]
async fn a_listed_origin_passes_its_preflight_and_may_read_responses() {
    let graph = with_origins(&[APP, "http://localhost:*"]).await;

    let (status, headers, _) = preflight(&graph, APP).await;
    assert!((200..300).contains(&status), "{status}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(APP));
    let methods = header(&headers, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = header(&headers, "access-control-allow-headers").unwrap();
    for name in ["content-type", "authorization", "apollo-require-preflight"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert_eq!(header(&headers, "access-control-max-age"), Some("600"));
    assert_eq!(header(&headers, "access-control-allow-credentials"), None);
    assert!(header(&headers, "vary").unwrap().contains("origin"));
    assert_security_headers(&headers, STRICT_CSP, "an allowed preflight");

    let response = graph
        .post_raw(r#"{"query":"{ motd }"}"#, &[JSON, ("origin", APP)])
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        header(&response.headers, "access-control-allow-origin"),
        Some(APP)
    );
    assert_eq!(
        header(&response.headers, "access-control-expose-headers"),
        Some("retry-after"),
        "pages may read how long to wait after a 429"
    );

    let (status, headers, _) = preflight(&graph, "http://localhost:5173").await;
    assert!((200..300).contains(&status), "any port of a `:*` origin");
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("http://localhost:5173")
    );
}

#[tokio::test]
async fn an_origin_that_is_not_listed_is_refused_however_close_it_looks() {
    let graph = with_origins(&[APP, "http://localhost:*"]).await;

    for origin in [
        "https://evil.example",
        "http://app.example.org",
        "https://app.example.org.evil.example",
        "https://sub.app.example.org",
        "http://localhost.evil.example:5173",
        "null",
    ] {
        let (status, headers, body) = preflight(&graph, origin).await;
        assert_eq!(status, 403, "{origin}: {body}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            None,
            "{origin}"
        );
        let response = graph
            .post_raw(r#"{"query":"{ motd }"}"#, &[JSON, ("origin", origin)])
            .await;
        assert_eq!(
            header(&response.headers, "access-control-allow-origin"),
            None,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn a_wildcard_origin_is_refused_at_start_up() {
    let config = RouterConfig {
        supergraph_sdl: agora_router::compose(&helpers::subgraph_sdls()).unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
        cors: Cors {
            origins: vec!["*".to_owned()],
            ..Cors::default()
        },
        ..RouterConfig::default()
    };
    let error = agora_router::Server::bind(config)
        .await
        .err()
        .expect("`*` is not an origin");
    assert!(error.to_string().contains("not a CORS origin"), "{error}");
}

// ---- security headers -----------------------------------------------------------------

#[tokio::test]
async fn json_error_and_other_responses_carry_the_security_headers_and_the_strict_policy() {
    let graph = spawn_configured(Options::default(), |config| {
        config.rate_limit = Some(agora_router::RateLimit {
            requests_per_second: NonZeroU32::MIN,
            burst: NonZeroU32::new(3).unwrap(),
        });
    })
    .await;

    let ok = graph.post_raw(r#"{"query":"{ motd }"}"#, &[JSON]).await;
    assert_eq!(ok.status, 200);
    assert_security_headers(&ok.headers, STRICT_CSP, "a JSON response");
    let invalid = graph.post_raw(r#"{"query":"{ nope }"}"#, &[JSON]).await;
    assert_eq!(invalid.status, 400);
    assert_security_headers(&invalid.headers, STRICT_CSP, "a validation error");
    let csrf = graph
        .post_raw(r#"{"query":"{ motd }"}"#, &[("content-type", "text/plain")])
        .await;
    assert_eq!(csrf.status, 400);
    assert_security_headers(&csrf.headers, STRICT_CSP, "a CSRF refusal");
    let limited = graph.post_raw(r#"{"query":"{ motd }"}"#, &[JSON]).await;
    assert_eq!(limited.status, 429);
    assert_security_headers(&limited.headers, STRICT_CSP, "a 429");

    for path in [
        "/health",
        "/ready",
        "/metrics",
        "/graphiql/graphiql.min.js",
        "/nowhere",
    ] {
        let (_, headers, _) = get(&graph, path, &[]).await;
        assert_security_headers(&headers, STRICT_CSP, path);
    }
    let (status, headers, _) = get(&graph, "/nowhere", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
}

#[tokio::test]
async fn graphiql_runs_under_a_policy_that_admits_only_its_own_and_its_nonced_scripts() {
    let graph = spawn().await;
    let browser = [("accept", "text/html,application/xhtml+xml")];

    let (status, headers, page) = get(&graph, "/graphql", &browser).await;
    assert_eq!(status, 200);
    let csp = header(&headers, "content-security-policy")
        .unwrap()
        .to_owned();
    assert_security_headers(&headers, &csp, "the GraphiQL page");
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|directive| directive.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {csp}"))
            .to_owned()
    };
    assert_eq!(
        directive("script-src"),
        format!("script-src 'self' 'nonce-{nonce}'")
    );
    assert_eq!(
        directive("style-src"),
        format!("style-src 'self' 'nonce-{nonce}'")
    );
    assert_eq!(directive("connect-src"), "connect-src 'self'");
    assert!(directive("default-src").ends_with("'none'"));

    // Every inline script and style carries the nonce; every other one is the router's.
    let tags = |tag: &str| -> Vec<String> {
        page.split(&format!("<{tag}"))
            .skip(1)
            .map(|rest| rest[..rest.find('>').unwrap()].to_owned())
            .collect()
    };
    let scripts = tags("script");
    assert_eq!(scripts.len(), 4, "{page}");
    for attributes in scripts.iter().chain(&tags("style")) {
        let nonced = attributes.contains(&format!("nonce=\"{nonce}\""));
        let served_here = attributes.contains("src=\"/graphiql/");
        assert!(nonced || served_here, "{attributes}");
    }
    for link in tags("link") {
        if link.contains("stylesheet") {
            assert!(link.contains("href=\"/graphiql/"), "{link}");
        }
    }
    for source in page.split("src=\"/graphiql/").skip(1) {
        let file = &source[..source.find('"').unwrap()];
        let (status, _, _) = get(&graph, &format!("/graphiql/{file}"), &[]).await;
        assert_eq!(status, 200, "{file}");
    }

    let (_, again, _) = get(&graph, "/graphql", &browser).await;
    assert_ne!(
        header(&again, "content-security-policy"),
        Some(csp.as_str()),
        "a fresh nonce for every page"
    );
}

// ---- sensitive fields -----------------------------------------------------------------

#[tokio::test]
async fn twenty_login_aliases_in_one_request_are_twenty_attempts() {
    let graph = with_sensitive_burst(10).await;

    let twenty = post_from(&graph, "198.51.100.1", &logins(20)).await;
    assert_refused_as_rate_limited(&twenty);
    let message = twenty.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("`login` 20 times"), "{message}");
    assert_eq!(graph.subgraph_requests(), 0, "refused before any subgraph");

    let five = post_from(&graph, "198.51.100.2", &logins(5)).await;
    assert_eq!(
        five.status, 200,
        "a fresh client's 5 attempts pass: {}",
        five.body
    );
    assert_eq!(five.body["data"]["guess4"], json!(false));

    // The same client: 5 more fit its 10, the 11th does not.
    let five_more = post_from(&graph, "198.51.100.2", &logins(5)).await;
    assert_eq!(five_more.status, 200, "{}", five_more.body);
    let eleventh = post_from(&graph, "198.51.100.2", &logins(1)).await;
    assert_refused_as_rate_limited(&eleventh);
    let message = eleventh.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Too many `login` attempts"), "{message}");
    assert_eq!(
        graph.identity.requests(),
        2,
        "only the two accepted requests"
    );
}

#[tokio::test]
async fn twenty_accepted_aliases_spend_twenty_attempts() {
    let graph = with_sensitive_burst(30).await;

    let twenty = post_from(&graph, "198.51.100.1", &logins(20)).await;
    assert_eq!(twenty.status, 200, "{}", twenty.body);
    let eleven = post_from(&graph, "198.51.100.1", &logins(11)).await;
    assert_refused_as_rate_limited(&eleven);
    let ten = post_from(&graph, "198.51.100.1", &logins(10)).await;
    assert_eq!(
        ten.status, 200,
        "a refused request spends nothing: {}",
        ten.body
    );
    let one = post_from(&graph, "198.51.100.1", &logins(1)).await;
    assert_refused_as_rate_limited(&one);
}

#[tokio::test]
async fn fields_in_fragments_on_mutation_count_each_time_they_are_spread() {
    let graph = with_sensitive_burst(5).await;
    let spread_twice = "mutation { ...Guesses ...Guesses } \
                        fragment Guesses on Mutation { a: login(password: \"a\") b: login(password: \"b\") c: login(password: \"c\") }";

    let response = post_from(&graph, "198.51.100.1", spread_twice).await;
    assert_refused_as_rate_limited(&response);
    let message = response.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("`login` 6 times"), "{message}");

    let inline = "mutation { ... on Mutation { a: login(password: \"a\") b: login(password: \"b\") } \
                  c: login(password: \"c\") ... @include(if: true) { d: login(password: \"d\") e: login(password: \"e\") } }";
    let response = post_from(&graph, "198.51.100.2", inline).await;
    assert_eq!(response.status, 200, "5 attempts fit: {}", response.body);
    let response = post_from(&graph, "198.51.100.2", &logins(1)).await;
    assert_refused_as_rate_limited(&response);
    assert_eq!(graph.identity.requests(), 1);
}

#[tokio::test]
async fn each_sensitive_field_has_its_own_budget_and_other_fields_have_none() {
    let graph = with_sensitive_burst(2).await;
    let client = "198.51.100.1";

    let register = "mutation { a: register(handle: \"a\") b: register(handle: \"b\") }";
    assert_eq!(post_from(&graph, client, register).await.status, 200);
    let reset = "mutation { a: requestPasswordReset(email: \"a@example.org\") b: requestPasswordReset(email: \"b@example.org\") c: requestPasswordReset(email: \"c@example.org\") }";
    assert_refused_as_rate_limited(&post_from(&graph, client, reset).await);
    assert_eq!(post_from(&graph, client, &logins(2)).await.status, 200);
    assert_refused_as_rate_limited(&post_from(&graph, client, register).await);

    let renames: Vec<String> = (0..10)
        .map(|i| format!("r{i}: renameMe(handle: \"h{i}\")"))
        .collect();
    let renames = format!("mutation {{ {} }}", renames.join(" "));
    let response = post_from(&graph, client, &renames).await;
    assert_eq!(
        response.status, 200,
        "renameMe is not limited: {}",
        response.body
    );
}

#[tokio::test]
async fn over_server_sent_events_the_same_attempts_are_refused() {
    let graph = with_sensitive_burst(5).await;

    let response = graph
        .post_raw(
            json!({ "query": logins(6) }).to_string(),
            &[
                JSON,
                ("accept", "text/event-stream"),
                ("x-real-ip", "198.51.100.1"),
            ],
        )
        .await;

    assert_refused_as_rate_limited(&response);
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn a_batch_of_operations_in_one_body_is_not_accepted() {
    let graph = with_sensitive_burst(5).await;
    let one = json!({ "query": logins(5) });

    let response = graph
        .post_raw(
            json!([one, one, one]).to_string(),
            &[JSON, ("x-real-ip", "198.51.100.1")],
        )
        .await;

    assert_eq!(response.status, 400, "{}", response.body);
    assert_eq!(TestGraph::error_codes(&response.body), ["BAD_REQUEST"]);
    assert_eq!(graph.subgraph_requests(), 0);
}

#[tokio::test]
async fn the_stricter_limits_are_on_by_default_and_can_be_turned_off() {
    let defaults = spawn().await;
    let burst = SensitiveLimits::default().burst.get() as usize;
    let over = defaults
        .post(json!({ "query": logins(burst + 1) }), None)
        .await;
    assert_refused_as_rate_limited(&over);

    let off = spawn_configured(Options::default(), |config| config.sensitive_limits = None).await;
    let response = off.post(json!({ "query": logins(20) }), None).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let data = response.body["data"].as_object().unwrap();
    assert_eq!(data.len(), 20);
    assert!(data.values().all(|value| *value == Value::Bool(false)));
}
