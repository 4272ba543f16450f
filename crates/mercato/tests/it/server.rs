//! The server as an operator sees it: health, metrics, headers, bootstrap,
//! restarts, rate limits, and keys that are never stored in the clear.

use mercato::server;
use mercato_store::keys::hash_secret;
use reqwest::Method;

use crate::support::{Fixture, TestServer};

#[tokio::test]
async fn health_answers_without_a_key() {
    let server = TestServer::start().await;

    let reply = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("sent");

    assert_eq!(reply.status(), 200);
    assert!(reply.headers().get("request-id").is_some());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let server = TestServer::start().await;
    server.get("/v1/accounts").await;
    server.get("/v1/accounts/acct_missing").await;

    let text = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");

    assert!(text.contains("mercato_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/v1/accounts/{id}\""), "{text}");
    assert!(text.contains("status=\"404\""), "{text}");
    assert!(
        text.contains("mercato_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("mercato_jobs{state=\"queued\"}"), "{text}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_the_api_version() {
    let server = TestServer::start().await;

    let replies = [
        server.get("/v1/account").await,
        server.get("/v1/nothing").await,
        server.post("/v1/accounts", &[("bogus", "1")]).await,
    ];

    for reply in replies {
        let request_id = reply.header("request-id").unwrap_or_default();
        assert!(request_id.starts_with("req_"), "{request_id}");
        assert_eq!(reply.header("stripe-version"), Some("2025-09-30.clover"));
    }
}

#[tokio::test]
async fn unknown_routes_answer_in_stripe_shape() {
    let server = TestServer::start().await;

    let reply = server.get("/v1/nothing").await;

    let error = reply.error(404);
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("/v1/nothing"));
}

#[tokio::test]
async fn a_restart_keeps_the_platform_and_its_keys() {
    let fixture = Fixture::new().await;
    let config = fixture.config();
    let first = server::start(config.clone()).await.expect("first start");
    let platform = first
        .bootstrapped
        .as_ref()
        .expect("bootstrapped")
        .platform
        .id
        .clone();
    first.shutdown().await.expect("stop");

    let second = server::start(config.clone()).await.expect("second start");
    let reply = reqwest::Client::new()
        .get(format!("http://{}/v1/account", second.addr))
        .bearer_auth(config.bootstrap_test_key.as_deref().unwrap_or_default())
        .send()
        .await
        .expect("sent");

    assert!(
        second.bootstrapped.is_none(),
        "the second start must not bootstrap again"
    );
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.expect("json");
    assert_eq!(body["id"], platform.as_str());
    second.shutdown().await.expect("stop");
}

#[tokio::test]
async fn keys_are_stored_as_hashes_only() {
    let server = TestServer::start().await;

    let rows: Vec<(String, String)> = sqlx::query_as("SELECT secret_hash, redacted FROM api_keys")
        .fetch_all(server.db().pool())
        .await
        .expect("keys");

    assert_eq!(rows.len(), 4, "sk/pk in test and live mode");
    assert!(rows
        .iter()
        .any(|(hash, _)| *hash == hash_secret(&server.test_key)));
    for (hash, redacted) in &rows {
        assert_eq!(hash.len(), 64);
        assert!(redacted.contains("****"), "{redacted}");
        assert!(!hash.contains(&server.test_key) && !redacted.contains(&server.test_key));
    }
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let server = TestServer::start_with(|config| config.rate_limit_per_second = 2).await;

    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(server.get("/v1/account").await);
    }

    let limited = statuses
        .iter()
        .find(|reply| reply.status == 429)
        .expect("some request is limited");
    let error = limited.error(429);
    assert_eq!(error["type"], "rate_limit_error");
    assert_eq!(error["code"], "rate_limit");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn the_rate_limit_is_per_account() {
    let server = TestServer::start_with(|config| config.rate_limit_per_second = 1).await;
    let account = server.connected_account("Shop").await;

    let own = server.get("/v1/account").await;
    let other = server
        .request(Method::GET, "/v1/account")
        .header("stripe-account", &account)
        .send()
        .await
        .expect("sent");

    assert_ne!(own.status, 500);
    assert_eq!(other.status(), 200, "another account has its own budget");
}

#[tokio::test]
async fn shutdown_lets_the_server_stop_cleanly() {
    let server = TestServer::start().await;
    server.get("/v1/account").await;

    server.stop().await;
}
