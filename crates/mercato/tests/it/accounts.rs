//! Connected accounts: create, retrieve, update, list with cursors.

use reqwest::Method;

use crate::support::TestServer;

#[tokio::test]
async fn a_platform_creates_and_reads_a_connected_account() {
    let server = TestServer::start().await;

    let created = server
        .post(
            "/v1/accounts",
            &[
                ("type", "custom"),
                ("country", "fr"),
                ("email", "shop@example.com"),
                ("business_profile[name]", "Le Shop"),
                ("business_profile[url]", "https://shop.example"),
                ("business_profile[support_email]", "help@shop.example"),
                ("metadata[crm_id]", "42"),
            ],
        )
        .await;

    assert_eq!(created.status, 200, "{}", created.body);
    let account = &created.body;
    let id = account["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("acct_"));
    assert_eq!(account["object"], "account");
    assert_eq!(account["type"], "custom");
    assert_eq!(account["country"], "FR");
    assert_eq!(account["email"], "shop@example.com");
    assert_eq!(account["business_profile"]["name"], "Le Shop");
    assert_eq!(account["metadata"]["crm_id"], "42");
    assert_eq!(account["charges_enabled"], true);
    assert_eq!(account["controller"]["type"], "application");
    let fetched = server.get(&format!("/v1/accounts/{id}")).await;
    assert_eq!(fetched.body, created.body);
}

#[tokio::test]
async fn updates_change_only_what_they_name() {
    let server = TestServer::start().await;
    let id = server.connected_account("Before").await;
    server
        .post(
            &format!("/v1/accounts/{id}"),
            &[
                ("metadata[a]", "1"),
                ("metadata[b]", "2"),
                ("email", "x@y.co"),
            ],
        )
        .await;

    let updated = server
        .post(
            &format!("/v1/accounts/{id}"),
            &[
                ("business_profile[name]", "After"),
                ("metadata[a]", ""),
                ("email", ""),
            ],
        )
        .await;

    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["business_profile"]["name"], "After");
    assert_eq!(updated.body["metadata"], serde_json::json!({ "b": "2" }));
    assert!(updated.body["email"].is_null());
    let cleared = server
        .post(&format!("/v1/accounts/{id}"), &[("metadata", "")])
        .await;
    assert_eq!(cleared.body["metadata"], serde_json::json!({}));
}

#[tokio::test]
async fn lists_page_newest_first_with_both_cursors() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for index in 0..5 {
        ids.push(server.connected_account(&format!("Shop {index}")).await);
    }
    ids.reverse();

    let first = server.get("/v1/accounts?limit=2").await;
    let last_id = first.body["data"][1]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let second = server
        .get(&format!("/v1/accounts?limit=2&starting_after={last_id}"))
        .await;
    let third_last = second.body["data"][1]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let third = server
        .get(&format!("/v1/accounts?limit=2&starting_after={third_last}"))
        .await;
    let back = server
        .get(&format!("/v1/accounts?limit=2&ending_before={third_last}"))
        .await;

    let page_ids = |reply: &crate::support::Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|item| item["id"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(first.body["object"], "list");
    assert_eq!(first.body["url"], "/v1/accounts");
    assert_eq!(page_ids(&first), ids[0..2]);
    assert_eq!(first.body["has_more"], true);
    assert_eq!(page_ids(&second), ids[2..4]);
    assert_eq!(page_ids(&third), ids[4..5]);
    assert_eq!(third.body["has_more"], false);
    assert_eq!(page_ids(&back), ids[1..3]);
}

#[tokio::test]
async fn a_cursor_from_elsewhere_is_refused() {
    let server = TestServer::start().await;

    let reply = server.get("/v1/accounts?starting_after=acct_nope").await;

    let error = reply.error(400);
    assert_eq!(error["code"], "resource_missing");
}

#[tokio::test]
async fn the_account_endpoint_shows_the_account_acted_on() {
    let server = TestServer::start().await;
    let connected = server.connected_account("Shop").await;

    let platform = server.get("/v1/account").await;
    let acting = server
        .request(Method::GET, "/v1/account")
        .header("stripe-account", &connected)
        .send()
        .await
        .expect("sent")
        .json::<serde_json::Value>()
        .await
        .expect("json");

    assert_eq!(platform.body["id"], server.platform_id.as_str());
    assert_eq!(acting["id"], connected.as_str());
}

#[tokio::test]
async fn test_and_live_accounts_are_separate() {
    let server = TestServer::start().await;
    let test_account = server.connected_account("Test shop").await;

    let live_list = server
        .client
        .get(format!("{}/v1/accounts", server.base))
        .bearer_auth(&server.live_key)
        .send()
        .await
        .expect("sent")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    let live_get = server
        .client
        .get(format!("{}/v1/accounts/{test_account}", server.base))
        .bearer_auth(&server.live_key)
        .send()
        .await
        .expect("sent");

    assert_eq!(live_list["data"], serde_json::json!([]));
    assert_eq!(live_get.status(), 404);
}
