//! `Idempotency-Key`: replays byte for byte, refuses reuse with other
//! parameters, answers 409 while the first request runs, and saves nothing
//! for a request refused on its parameters.

use mercato_core::ids::AccountId;
use mercato_core::time::now_unix;
use mercato_store::idempotency::{self, Claim, ClaimClock, KeyScope};
use reqwest::Method;

use crate::support::{serde_urlencoded_pairs, Reply, TestServer};

async fn post_with_key(server: &TestServer, key: &str, pairs: &[(&str, &str)]) -> Reply {
    let response = server
        .request(Method::POST, "/v1/accounts")
        .header("idempotency-key", key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded_pairs(pairs))
        .send()
        .await
        .expect("sent");
    Reply::read(response).await
}

async fn account_count(server: &TestServer) -> usize {
    let reply = server.get("/v1/accounts?limit=100").await;
    reply.body["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_repeated_request_is_replayed_byte_for_byte() {
    let server = TestServer::start().await;
    let pairs = [("type", "custom"), ("business_profile[name]", "Once")];

    let first = post_with_key(&server, "order-7", &pairs).await;
    let second = post_with_key(&server, "order-7", &pairs).await;

    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(account_count(&server).await, 1);
}

#[tokio::test]
async fn reuse_with_other_parameters_is_an_idempotency_error() {
    let server = TestServer::start().await;
    post_with_key(&server, "k1", &[("business_profile[name]", "A")]).await;

    let reply = post_with_key(&server, "k1", &[("business_profile[name]", "B")]).await;

    let error = reply.error(400);
    assert_eq!(error["type"], "idempotency_error");
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("'k1'"));
    assert_eq!(account_count(&server).await, 1);
}

#[tokio::test]
async fn a_refused_request_saves_nothing() {
    let server = TestServer::start().await;

    let refused = post_with_key(&server, "k2", &[("bogus", "1")]).await;
    let corrected = post_with_key(&server, "k2", &[("business_profile[name]", "Fixed")]).await;

    refused.error(400);
    assert_eq!(corrected.status, 200, "{}", corrected.body);
    assert_eq!(corrected.body["business_profile"]["name"], "Fixed");
}

#[tokio::test]
async fn keys_are_scoped_to_the_account_acted_on() {
    let server = TestServer::start().await;
    let shop = server.connected_account("Shop").await;
    let pairs = [("business_profile[name]", "Same key")];
    let first = post_with_key(&server, "shared", &pairs).await;

    let response = server
        .request(Method::POST, "/v1/accounts")
        .header("idempotency-key", "shared")
        .header("stripe-account", &shop)
        .form(&pairs)
        .send()
        .await
        .expect("sent");
    let other_scope = Reply::read(response).await;

    assert_eq!(first.status, 200);
    assert_eq!(other_scope.header("idempotent-replayed"), None);
    other_scope.error(403);
}

#[tokio::test]
async fn a_key_in_flight_answers_409() {
    let server = TestServer::start().await;
    let scope = KeyScope {
        account_id: AccountId::from_stored(server.platform_id.clone()),
        livemode: false,
    };
    let now = now_unix();
    let clock = ClaimClock {
        now,
        expired_before: now - 86_400,
        abandoned_before: now - 120,
    };
    let claim = idempotency::claim(server.db(), &scope, "busy", "some-fingerprint", clock).await;
    assert_eq!(claim.expect("claimed"), Claim::Started);

    let reply = post_with_key(&server, "busy", &[("business_profile[name]", "Racing")]).await;

    let error = reply.error(409);
    assert_eq!(error["code"], "idempotency_key_in_use");
    assert_eq!(account_count(&server).await, 0);
}

#[tokio::test]
async fn an_abandoned_claim_is_taken_over_after_the_lock_timeout() {
    let server = TestServer::start().await;
    let scope = KeyScope {
        account_id: AccountId::from_stored(server.platform_id.clone()),
        livemode: false,
    };
    let now = now_unix();
    let long_ago = ClaimClock {
        now: now - 600,
        expired_before: now - 600 - 86_400,
        abandoned_before: now - 720,
    };
    let current = ClaimClock {
        now,
        expired_before: now - 86_400,
        abandoned_before: now - 120,
    };
    idempotency::claim(server.db(), &scope, "crashed", "f1", long_ago)
        .await
        .expect("first claim");

    let takeover = idempotency::claim(server.db(), &scope, "crashed", "f1", current).await;

    assert_eq!(takeover.expect("second claim"), Claim::Started);
}

#[tokio::test]
async fn a_key_longer_than_255_characters_is_refused() {
    let server = TestServer::start().await;

    let too_long = post_with_key(
        &server,
        &"k".repeat(256),
        &[("business_profile[name]", "A")],
    )
    .await;
    let longest = post_with_key(
        &server,
        &"k".repeat(255),
        &[("business_profile[name]", "A")],
    )
    .await;

    assert!(too_long.error(400)["message"]
        .as_str()
        .unwrap_or_default()
        .contains("255"));
    assert_eq!(longest.status, 200);
}
