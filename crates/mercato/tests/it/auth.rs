//! Keys and tenancy: every bad key is a 401 that masks the key, and no key
//! reaches another tenant's account, which looks exactly like a missing one.

use mercato::keys_command::{self, CreateKey};
use mercato_store::keys::KeyKind;
use reqwest::Method;

use crate::support::{Reply, TestServer};

async fn call_with(server: &TestServer, authorization: Option<&str>, path: &str) -> Reply {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    Reply::read(request.send().await.expect("sent")).await
}

async fn make_key(
    server: &TestServer,
    account: Option<String>,
    livemode: bool,
    kind: KeyKind,
) -> (String, String) {
    let request = CreateKey {
        account,
        livemode,
        kind,
    };
    keys_command::create(server.db(), &request)
        .await
        .expect("key made")
}

#[tokio::test]
async fn bad_keys_are_refused_with_401_and_masked() {
    let server = TestServer::start().await;
    let cases = [
        (None, "You did not provide an API key"),
        (Some("Bearer "), "You did not provide an API key"),
        (
            Some("Bearer sk_test_unknownkey0001234"),
            "Invalid API Key provided: sk_test_****1234",
        ),
        (
            Some("Bearer not-a-key-5678"),
            "Invalid API Key provided: ****5678",
        ),
        (
            Some("Bearer sk_test_with-dash-9999"),
            "Invalid API Key provided: sk_test_****9999",
        ),
        (Some("Digest abc"), "Invalid authorization scheme"),
        (Some("Basic %%%"), "Invalid Basic authorization header"),
    ];

    for (authorization, fragment) in cases {
        let reply = call_with(&server, authorization, "/v1/account").await;
        let error = reply.error(401);
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(fragment), "{authorization:?}: {message}");
        assert_eq!(error["type"], "invalid_request_error");
    }
}

#[tokio::test]
async fn basic_auth_with_the_key_as_user_name_works() {
    let server = TestServer::start().await;

    let reply = server
        .client
        .get(format!("{}/v1/account", server.base))
        .basic_auth(&server.test_key, Some(""))
        .send()
        .await
        .expect("sent");

    assert_eq!(reply.status(), 200);
}

#[tokio::test]
async fn a_revoked_key_stops_working() {
    let server = TestServer::start().await;
    let (key_id, secret) = make_key(&server, None, false, KeyKind::Secret).await;
    let before = call_with(&server, Some(&format!("Bearer {secret}")), "/v1/account").await;

    keys_command::revoke(server.db(), &key_id)
        .await
        .expect("revoked");
    let after = call_with(&server, Some(&format!("Bearer {secret}")), "/v1/account").await;

    assert_eq!(before.status, 200);
    after.error(401);
    assert!(
        keys_command::revoke(server.db(), &key_id).await.is_err(),
        "revoking twice fails"
    );
}

#[tokio::test]
async fn a_publishable_key_cannot_call_the_api() {
    let server = TestServer::start().await;
    let (_, publishable) = make_key(&server, None, false, KeyKind::Publishable).await;

    let reply = call_with(
        &server,
        Some(&format!("Bearer {publishable}")),
        "/v1/accounts",
    )
    .await;

    let error = reply.error(403);
    assert!(error["message"]
        .as_str()
        .unwrap_or_default()
        .contains("publishable"));
}

#[tokio::test]
async fn a_live_key_does_not_see_test_objects() {
    let server = TestServer::start().await;
    let test_account = server.connected_account("Test shop").await;

    let as_header = server
        .client
        .get(format!("{}/v1/account", server.base))
        .bearer_auth(&server.live_key)
        .header("stripe-account", &test_account)
        .send()
        .await
        .expect("sent");

    assert_eq!(as_header.status(), 404);
}

#[tokio::test]
async fn stripe_account_must_be_one_of_the_platforms_accounts() {
    let server = TestServer::start().await;
    let other = TestServer::start().await;
    let foreign = other.connected_account("Someone else's shop").await;

    let cases = [foreign.as_str(), "acct_doesnotexist", "not-an-id"];
    for requested in cases {
        let reply = Reply::read(
            server
                .request(Method::GET, "/v1/account")
                .header("stripe-account", requested)
                .send()
                .await
                .expect("sent"),
        )
        .await;
        let error = reply.error(404);
        assert_eq!(error["code"], "resource_missing", "{requested}");
        assert_eq!(error["message"], format!("No such account: '{requested}'"));
    }
}

#[tokio::test]
async fn a_connected_accounts_key_reaches_only_its_own_account() {
    let server = TestServer::start().await;
    let shop = server.connected_account("Shop").await;
    let neighbour = server.connected_account("Neighbour").await;
    let (_, shop_key) = make_key(&server, Some(shop.clone()), false, KeyKind::Secret).await;
    let authorization = format!("Bearer {shop_key}");

    let own = call_with(&server, Some(&authorization), "/v1/account").await;
    let neighbour_direct = call_with(
        &server,
        Some(&authorization),
        &format!("/v1/accounts/{neighbour}"),
    )
    .await;
    let platform_direct = call_with(
        &server,
        Some(&authorization),
        &format!("/v1/accounts/{}", server.platform_id),
    )
    .await;
    let neighbour_header = Reply::read(
        server
            .client
            .get(format!("{}/v1/account", server.base))
            .header("authorization", &authorization)
            .header("stripe-account", &neighbour)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let listing = call_with(&server, Some(&authorization), "/v1/accounts").await;

    assert_eq!(own.body["id"], shop.as_str());
    assert_eq!(
        neighbour_direct.error(404)["message"],
        format!("No such account: '{neighbour}'")
    );
    assert_eq!(platform_direct.error(404)["code"], "resource_missing");
    assert_eq!(neighbour_header.error(404)["code"], "resource_missing");
    listing.error(403);
}

#[tokio::test]
async fn a_live_key_for_a_test_account_cannot_be_made() {
    let server = TestServer::start().await;
    let shop = server.connected_account("Shop").await;

    let request = CreateKey {
        account: Some(shop),
        livemode: true,
        kind: KeyKind::Secret,
    };

    assert!(keys_command::create(server.db(), &request).await.is_err());
}
