//! Malformed and unexpected request bodies get specific 4xx errors.
//!
//! Every refusal is checked for its status, Stripe's error shape, `code`,
//! `param`, a message that says what to fix and a `Request-Id`; and after
//! the refusals the store holds only what the accepted requests created.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{serde_urlencoded_pairs, Reply, TestServer};

const FORM: &str = "application/x-www-form-urlencoded";

/// Why `reply` is not the refusal described, or `None` when it is.
fn mismatch(
    reply: &Reply,
    status: u16,
    code: Option<&str>,
    param: Option<&str>,
    fragment: &str,
) -> Option<String> {
    let error = &reply.body["error"];
    let request_id = reply.header("request-id").unwrap_or_default();
    let fits = reply.status == status
        && error["type"]
            .as_str()
            .is_some_and(|kind| kind.ends_with("_error"))
        && error["code"].as_str() == code
        && error["param"].as_str() == param
        && error["message"]
            .as_str()
            .is_some_and(|message| message.contains(fragment))
        && request_id.starts_with("req_");
    let expected = format!("{status} code {code:?} param {param:?} message with {fragment:?}");
    let got = format!(
        "{} {} (request-id {request_id:?})",
        reply.status, reply.body
    );
    (!fits).then(|| format!("expected {expected}; got {got}"))
}

fn assert_refused(
    reply: &Reply,
    status: u16,
    code: Option<&str>,
    param: Option<&str>,
    fragment: &str,
) {
    if let Some(problem) = mismatch(reply, status, code, param, fragment) {
        panic!("{problem}");
    }
}

/// The ids of a list reply, in order.
fn listed_ids(reply: &Reply) -> Vec<String> {
    let data = reply.body["data"].as_array().cloned().unwrap_or_default();
    data.iter()
        .map(|object| object["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn id_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["id"].as_str().expect("an id").to_owned()
}

/// `(method, path, content type, body, status, error.code, error.param, message
/// fragment)`. `{account}` in a path stands for an existing connected account;
/// a GET carries its parameters in the path.
type BadRequest = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u16,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const INVALID: Option<&str> = Some("parameter_invalid");
const UNKNOWN: Option<&str> = Some("parameter_unknown");

#[rustfmt::skip]
const BAD_REQUESTS: &[BadRequest] = &[
    // The grammar of keys.
    ("POST", "/v1/accounts", FORM, "business_profile[name=x", 400, INVALID, Some("business_profile[name"), "Malformed parameter name 'business_profile[name': a [ is never closed"),
    ("POST", "/v1/accounts", FORM, "metadata]=1", 400, INVALID, Some("metadata]"), "Malformed parameter name 'metadata]': a ] has no matching ["),
    ("POST", "/v1/accounts", FORM, "metadata[a]b=1", 400, INVALID, Some("metadata[a]b"), "each nested name must be in its own brackets"),
    ("POST", "/v1/accounts", FORM, "=1", 400, INVALID, None, "the parameter name is empty"),
    ("POST", "/v1/accounts", FORM, "[a]=1", 400, INVALID, Some("[a]"), "the name before the first [ is empty"),
    ("POST", "/v1/accounts", FORM, "metadata[a][b][c][d][e][f][g][h][i]=1", 400, INVALID, Some("metadata[a][b][c][d][e][f][g][h][i]"), "nests deeper than 8 levels"),
    ("POST", "/v1/accounts", FORM, "expand[][x]=1", 400, INVALID, Some("expand[][x]"), "[] can only end a parameter name"),
    ("POST", "/v1/accounts", FORM, "metadata[a%5Bb]=1", 400, INVALID, Some("metadata[a[b]"), "a [ appears inside brackets"),
    ("POST", "/v1/accounts", FORM, "expand[1]=a", 400, INVALID, Some("expand[1]"), "Invalid array index in expand[1]: indexes start at 0 and go up by one"),
    ("POST", "/v1/accounts", FORM, "expand[0]=a&expand[2]=b", 400, INVALID, Some("expand[2]"), "Invalid array index in expand[2]"),
    ("POST", "/v1/accounts", FORM, "expand[]=a&expand[0]=b", 400, INVALID, Some("expand"), "Conflicting types for expand"),
    ("POST", "/v1/accounts", FORM, "metadata=x&metadata[a]=b", 400, INVALID, Some("metadata"), "Conflicting types for metadata: send it as a single value (metadata=...), an object (metadata[name]=...)"),
    ("POST", "/v1/accounts", FORM, "metadata[a]=b&metadata=x", 400, INVALID, Some("metadata"), "Conflicting types for metadata"),
    ("POST", "/v1/accounts", FORM, "email=a@b.co&email=c@d.co", 400, INVALID, Some("email"), "Duplicate parameter email: send each parameter once"),
    ("POST", "/v1/accounts", FORM, "business_profile[name]=%FF%FE", 400, INVALID, Some("business_profile[name]"), "Invalid encoding: the value of business_profile[name] is not UTF-8"),
    ("POST", "/v1/accounts", FORM, "%FF%FE=1", 400, INVALID, None, "Invalid encoding: parameters must be UTF-8 once percent-decoded"),
    // Parameters the endpoint does not take, or in the wrong form.
    ("POST", "/v1/accounts", FORM, "foo=1", 400, UNKNOWN, Some("foo"), "Received unknown parameter: foo"),
    ("POST", "/v1/accounts", FORM, "business_profile[nmae]=x", 400, UNKNOWN, Some("business_profile[nmae]"), "Received unknown parameter: business_profile[nmae]"),
    ("POST", "/v1/accounts", FORM, "business_profile=Acme", 400, INVALID, Some("business_profile"), "business_profile must be sent as business_profile[name]=..."),
    ("POST", "/v1/accounts", FORM, "metadata[a][b]=c", 400, INVALID, Some("metadata[a]"), "metadata[a] must be a single value"),
    ("POST", "/v1/accounts/{account}", FORM, "business_profile[nmae]=x", 400, UNKNOWN, Some("business_profile[nmae]"), "Received unknown parameter: business_profile[nmae]"),
    ("POST", "/v1/accounts/{account}", FORM, "type=express", 400, UNKNOWN, Some("type"), "Received unknown parameter: type"),
    ("GET", "/v1/accounts?foo=1", FORM, "", 400, UNKNOWN, Some("foo"), "Received unknown parameter: foo"),
    // Values that are not what the parameter takes.
    ("POST", "/v1/accounts", FORM, "type=bogus", 400, INVALID, Some("type"), "Invalid type: must be one of custom, express, standard"),
    ("POST", "/v1/accounts", FORM, "email=not-an-email", 400, Some("email_invalid"), Some("email"), "Invalid email address: not-an-email"),
    ("POST", "/v1/accounts/{account}", FORM, "email=shop%40example", 400, Some("email_invalid"), Some("email"), "Invalid email address: shop@example"),
    ("POST", "/v1/accounts", FORM, "country=USA", 400, INVALID, Some("country"), "'USA' is not a two-letter ISO 3166-1 code"),
    ("POST", "/v1/accounts", FORM, "business_profile[url]=shop.example", 400, Some("url_invalid"), Some("business_profile[url]"), "Not a valid URL: shop.example"),
    // Bodies that are not forms.
    ("POST", "/v1/accounts", "application/json", "{\"type\":\"custom\"}", 400, None, None, "unsupported Content-Type application/json. Send parameters as application/x-www-form-urlencoded"),
    ("POST", "/v1/accounts", "text/plain", "type=custom", 400, None, None, "unsupported Content-Type text/plain"),
    // List options.
    ("GET", "/v1/accounts?limit=0", FORM, "", 400, INVALID, Some("limit"), "greater than or equal to 1 and less than or equal to 100"),
    ("GET", "/v1/accounts?limit=101", FORM, "", 400, INVALID, Some("limit"), "greater than or equal to 1 and less than or equal to 100"),
    ("GET", "/v1/accounts?limit=abc", FORM, "", 400, Some("parameter_invalid_integer"), Some("limit"), "Invalid integer: abc"),
    ("GET", "/v1/accounts?starting_after=acct_a&ending_before=acct_b", FORM, "", 400, None, None, "You may only specify one of these parameters: ending_before, starting_after."),
    ("GET", "/v1/accounts?expand[]=foo", FORM, "", 400, INVALID, Some("expand"), "This property cannot be expanded (foo)."),
    ("GET", "/v1/accounts/{account}?expand[0]=foo", FORM, "", 400, INVALID, Some("expand"), "This property cannot be expanded (foo)."),
    ("GET", "/v1/accounts?expand=foo", FORM, "", 400, INVALID, Some("expand"), "expand must be sent as expand[]=... or expand[0]=..."),
    // Paths and methods.
    ("GET", "/v1/nothing", FORM, "", 404, None, None, "Unrecognized request URL (GET: /v1/nothing)."),
    ("DELETE", "/v1/accounts", FORM, "", 405, None, None, "Unrecognized request URL (DELETE: /v1/accounts). This path does not accept DELETE."),
    ("PUT", "/v1/files", FORM, "", 405, None, None, "Unrecognized request URL (PUT: /v1/files). This path does not accept PUT."),
    ("GET", "/v1/accounts/acct_doesnotexist", FORM, "", 404, Some("resource_missing"), Some("id"), "No such account: 'acct_doesnotexist'"),
];

#[tokio::test]
async fn bad_requests_get_a_specific_error_and_store_nothing() {
    let server = TestServer::start().await;
    let account = server.connected_account("Shop").await;
    let before = server.get(&format!("/v1/accounts/{account}")).await;
    let mut failures = Vec::new();

    for (method, path, content_type, body, status, code, param, fragment) in BAD_REQUESTS {
        let path = path.replace("{account}", &account);
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let request = server.request(method.clone(), &path);
        let request = match method {
            Method::GET | Method::DELETE | Method::PUT => request,
            _ => request.header("content-type", *content_type).body(*body),
        };
        let reply = Reply::read(request.send().await.expect("request sent")).await;
        if let Some(problem) = mismatch(&reply, *status, *code, *param, fragment) {
            failures.push(format!("{method} {path} {body:?}: {problem}"));
        }
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let listed = server.get("/v1/accounts").await;
    assert_eq!(listed_ids(&listed), [account.as_str()]);
    let after = server.get(&format!("/v1/accounts/{account}")).await;
    assert_eq!(after.body, before.body, "refused updates changed nothing");
}

/// A form body setting `count` metadata keys, each `key{index}` with `value`.
fn many_keys(count: usize, value: &str) -> String {
    let pairs: Vec<(String, &str)> = (0..count)
        .map(|index| (format!("metadata[key{index}]"), value))
        .collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(key, value)| (key.as_str(), *value))
        .collect();
    serde_urlencoded_pairs(&pairs)
}

#[tokio::test]
async fn metadata_over_its_limits_is_refused_on_create_and_on_update() {
    let server = TestServer::start().await;
    let account = id_of(
        &server
            .post("/v1/accounts", &[("metadata[keep]", "1")])
            .await,
    );
    let update_path = format!("/v1/accounts/{account}");
    let long_key = "k".repeat(41);
    let long_key_param = format!("metadata[{long_key}]");
    let long_key_body = serde_urlencoded_pairs(&[(long_key_param.as_str(), "v")]);
    let long_value_body = serde_urlencoded_pairs(&[("metadata[note]", &"v".repeat(501))]);
    let too_many_body = many_keys(51, "v");
    let cases = [
        (&too_many_body, "metadata", "Invalid metadata: metadata can have up to 50 keys"),
        (&long_key_body, &long_key_param, "Metadata keys can have up to 40 characters, but you passed in a key with 41 characters"),
        (&long_value_body, "metadata[note]", "Metadata values can have up to 500 characters, but you passed in a value with 501 characters"),
    ];
    let mut failures = Vec::new();

    for path in ["/v1/accounts", update_path.as_str()] {
        for (body, param, fragment) in &cases {
            let reply = server.post_raw(path, body).await;
            if let Some(problem) = mismatch(
                &reply,
                400,
                Some("parameter_invalid"),
                Some(param),
                fragment,
            ) {
                failures.push(format!("POST {path} with {param}: {problem}"));
            }
        }
    }
    let fifty_more = server.post_raw(&update_path, &many_keys(50, "v")).await;
    if let Some(problem) = mismatch(
        &fifty_more,
        400,
        Some("parameter_invalid"),
        Some("metadata"),
        "you passed in 51 keys",
    ) {
        failures.push(format!("50 new keys on top of 1: {problem}"));
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let at_the_limits = format!(
        "{}&{}&{}",
        many_keys(48, "v"),
        serde_urlencoded_pairs(&[(format!("metadata[{}]", "k".repeat(40)).as_str(), "v")]),
        serde_urlencoded_pairs(&[("metadata[note]", &"v".repeat(500))]),
    );
    let accepted = id_of(&server.post_raw("/v1/accounts", &at_the_limits).await);
    let listed = server.get("/v1/accounts").await;
    assert_eq!(listed_ids(&listed), [accepted.as_str(), account.as_str()]);
    let kept = server.get(&update_path).await;
    assert_eq!(kept.body["metadata"], json!({ "keep": "1" }));
}

#[tokio::test]
async fn an_idempotency_key_may_have_up_to_255_characters() {
    let server = TestServer::start().await;
    let create = |key: String| {
        server
            .request(Method::POST, "/v1/accounts")
            .header("idempotency-key", key)
            .form(&[("business_profile[name]", "Shop")])
            .send()
    };

    let too_long = Reply::read(create("k".repeat(256)).await.expect("sent")).await;
    let first = Reply::read(create("k".repeat(255)).await.expect("sent")).await;
    let replayed = Reply::read(create("k".repeat(255)).await.expect("sent")).await;

    assert_refused(
        &too_long,
        400,
        Some("idempotency_key_invalid"),
        None,
        "Idempotency-Key is 256 characters long; it may be at most 255.",
    );
    let account = id_of(&first);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, first.body);
    assert_eq!(listed_ids(&server.get("/v1/accounts").await), [account]);
}

#[tokio::test]
async fn a_malformed_stripe_version_is_refused_and_a_beta_flag_is_accepted() {
    let server = TestServer::start().await;
    let create = |version: &'static str| {
        server
            .request(Method::POST, "/v1/accounts")
            .header("stripe-version", version)
            .form(&[("business_profile[name]", "Shop")])
            .send()
    };

    let garbage = Reply::read(create("garbage").await.expect("sent")).await;
    let beta = Reply::read(
        create("2025-09-30.clover;udap_beta=v1")
            .await
            .expect("sent"),
    )
    .await;

    assert_refused(
        &garbage,
        400,
        Some("api_version_invalid"),
        None,
        "Invalid Stripe API version: garbage. Send a version such as 2025-09-30.clover",
    );
    let account = id_of(&beta);
    assert_eq!(beta.header("stripe-version"), Some("2025-09-30.clover"));
    assert_eq!(listed_ids(&server.get("/v1/accounts").await), [account]);
}

#[tokio::test]
async fn a_ten_megabyte_form_body_is_refused_and_the_server_goes_on() {
    let server = TestServer::start().await;
    let body = format!("business_profile[name]={}", "x".repeat(10 * 1000 * 1000));
    let send_big = |idempotency_key: Option<&str>| {
        let mut request = server
            .request(Method::POST, "/v1/accounts")
            .header("content-type", FORM);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        request.body(body.clone()).send()
    };

    let plain = send_big(None).await.expect("an answer, not a reset");
    let keyed = send_big(Some("big-1"))
        .await
        .expect("an answer, not a reset");

    for reply in [Reply::read(plain).await, Reply::read(keyed).await] {
        assert_refused(
            &reply,
            413,
            Some("request_too_large"),
            None,
            "Request body too large: form bodies may be at most 1048576 bytes",
        );
    }
    let health = server.client.get(format!("{}/healthz", server.base)).send();
    assert_eq!(health.await.expect("sent").status(), 200);
    let account = server.connected_account("After the flood").await;
    assert_eq!(listed_ids(&server.get("/v1/accounts").await), [account]);
}

#[tokio::test]
async fn an_empty_list_option_is_unset_and_takes_its_default() {
    let server = TestServer::start().await;
    server.connected_account("Shop").await;

    for query in ["starting_after=&ending_before=", "expand=", "limit="] {
        let reply = server.get(&format!("/v1/accounts?{query}")).await;
        assert_eq!(
            reply.status, 200,
            "{query}: an empty value unsets; got {}",
            reply.body
        );
        assert_eq!(reply.body["data"].as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test]
async fn both_array_styles_parse_and_empty_metadata_values_unset() {
    let server = TestServer::start().await;

    for query in [
        "expand[]=foo",
        "expand[0]=foo",
        "expand[0]=foo&expand[1]=bar",
    ] {
        let reply = server.get(&format!("/v1/accounts?{query}")).await;
        assert_refused(
            &reply,
            400,
            INVALID,
            Some("expand"),
            "This property cannot be expanded (foo).",
        );
    }

    let created = server
        .post(
            "/v1/accounts",
            &[("metadata[a]", "1"), ("metadata[b]", "2")],
        )
        .await;
    let account = id_of(&created);
    let path = format!("/v1/accounts/{account}");
    assert_eq!(created.body["metadata"], json!({ "a": "1", "b": "2" }));

    let removed = server.post(&path, &[("metadata[a]", "")]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["metadata"], json!({ "b": "2" }));

    let cleared = server.post(&path, &[("metadata", "")]).await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["metadata"], json!({}));
    let fetched: Value = server.get(&path).await.body;
    assert_eq!(fetched["metadata"], json!({}));
}
