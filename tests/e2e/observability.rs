//! What operators watch: every subgraph serves Prometheus metrics of its own requests,
//! and the router's count the same traffic from the client's side.

use serde_json::json;

use crate::helpers::spawn;

/// The value of one unlabelled series in a Prometheus exposition.
fn series(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test]
async fn every_subgraph_counts_its_requests_and_its_responses_with_errors() {
    let app = spawn().await;
    let session = app.register("ada").await;
    let refused = app
        .graphql(
            "mutation { createPost(input: { body: \"\" }) { post { id } } }",
            json!({}),
            Some(&session.access_token),
        )
        .await;
    assert!(refused.get("errors").is_some(), "{refused}");

    let platform = app.platform.as_ref().unwrap();
    let metrics_of = |name: &str| {
        let (_, addr) = platform
            .subgraph_addrs
            .iter()
            .find(|(subgraph, _)| *subgraph == name)
            .unwrap();
        format!("http://{addr}/metrics")
    };
    let identity = app.client.get(metrics_of("identity")).send().await.unwrap();
    assert_eq!(identity.status(), 200);
    let identity = identity.text().await.unwrap();
    assert!(
        series(&identity, "agora_subgraph_request_duration_seconds_count") >= Some(1.0),
        "{identity}"
    );
    let content = app
        .client
        .get(metrics_of("content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        series(&content, "agora_subgraph_responses_with_errors_total"),
        Some(1.0),
        "{content}"
    );
}

#[tokio::test]
async fn event_metrics_count_what_consumers_applied_and_how_late() {
    let app = spawn().await;
    let session = app.register("ada").await;
    // profiles creates the profile from identity's event: applied, with a lag.
    app.wait_for_profile(&session.access_token).await;

    let platform = app.platform.as_ref().unwrap();
    let (_, addr) = platform
        .subgraph_addrs
        .iter()
        .find(|(subgraph, _)| *subgraph == "profiles")
        .unwrap();
    let metrics = app
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let applied = r#"agora_events_handled_total{consumer="profiles",outcome="applied"}"#;
    assert!(series(&metrics, applied) >= Some(1.0), "{metrics}");
    let lags = r#"agora_event_lag_seconds_count{consumer="profiles"}"#;
    assert!(series(&metrics, lags) >= Some(1.0), "{metrics}");
    let published = r#"agora_events_published_total{source="identity"}"#;
    assert!(series(&metrics, published) >= Some(1.0), "{metrics}");
}
