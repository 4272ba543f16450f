//! Webhook delivery as a receiver sees it: signatures, retries, faults, secret rolls,
//! the events API.
//!
//! Each test starts the server with short delivery settings (a 1 s timeout,
//! retries from 100 ms doubling up to 400 ms, six sandbox attempts) and one or
//! more scripted receivers: HTTP servers on port 0 that answer each request
//! as told (a status, a hang, a redirect, a connection closed unanswered, and
//! 200 once the script is spent) and record what arrived and when. Waits poll
//! with a bound; no test sleeps for a fixed time to let delivery happen.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{
    header, HeaderMap, HeaderName, HeaderValue, Method as HttpMethod, StatusCode, Uri,
};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hmac::{Hmac, Mac};
use mercato_core::ids::random_token;
use mercato_core::time::now_unix;
use mercato_core::Config;
use mercato_events::signing;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{serde_urlencoded_pairs, Reply, TestServer};

/// Longest wait for anything a test expects to happen.
const PATIENCE: Duration = Duration::from_secs(20);
/// Pause between two looks at what a test waits for.
const POLL: Duration = Duration::from_millis(25);
/// Tolerance of the signature check, as the official SDKs default it.
const TOLERANCE_SECONDS: i64 = 300;
/// Attempts a sandbox delivery gets in these tests.
const SANDBOX_ATTEMPTS: usize = 6;

// ---------------------------------------------------------------------------
// The scripted receiver
// ---------------------------------------------------------------------------

/// How the receiver answers one request.
#[derive(Clone, Debug)]
enum Answer {
    /// This status, with the body `answered <status>`.
    Status(u16),
    /// Waits this long, then answers 200 (to a sender that may have left).
    Hang(Duration),
    /// `301 Moved Permanently` to this location.
    Redirect(String),
    /// Reads the whole request, then closes the connection without a word.
    Close,
}

/// One request as it arrived.
#[derive(Clone, Debug)]
struct Received {
    at: Instant,
    method: String,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn event_id(&self) -> String {
        self.json()["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// What a receiver will answer, and what it was sent.
struct Script {
    answers: Mutex<VecDeque<Answer>>,
    otherwise: Answer,
    received: Mutex<Vec<Received>>,
}

impl Script {
    fn next_answer(&self) -> Answer {
        lock(&self.answers)
            .pop_front()
            .unwrap_or_else(|| self.otherwise.clone())
    }

    /// Takes the next answer if it is [`Answer::Close`].
    fn take_close(&self) -> bool {
        let mut answers = lock(&self.answers);
        let closing = match answers.front() {
            Some(Answer::Close) => true,
            Some(_) => false,
            None => matches!(self.otherwise, Answer::Close),
        };
        if closing {
            answers.pop_front();
        }
        closing
    }

    fn record(&self, method: &str, path: &str, headers: HeaderMap, body: Bytes) {
        lock(&self.received).push(Received {
            at: Instant::now(),
            method: method.to_owned(),
            path: path.to_owned(),
            headers,
            body,
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A webhook receiver on 127.0.0.1, stopped when dropped.
struct Receiver {
    addr: SocketAddr,
    script: Arc<Script>,
    server: JoinHandle<()>,
}

impl Receiver {
    /// Answers `answers` in order, then 200 to everything.
    async fn start(answers: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener, answers, Answer::Status(200))
    }

    /// Answers every request the same way.
    async fn always(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener, Vec::new(), answer)
    }

    /// Answers 200 to everything, on a given address.
    async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = TcpListener::bind(addr)
            .await
            .expect("bind the same port again");
        Self::serve(listener, Vec::new(), Answer::Status(200))
    }

    fn serve(listener: TcpListener, answers: Vec<Answer>, otherwise: Answer) -> Receiver {
        let addr = listener.local_addr().expect("local address");
        let script = Arc::new(Script {
            answers: Mutex::new(answers.into()),
            otherwise,
            received: Mutex::new(Vec::new()),
        });
        let listener = ScriptedListener {
            inner: listener,
            script: Arc::clone(&script),
        };
        let router = Router::new()
            .fallback(answer_request)
            .with_state(Arc::clone(&script));
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Receiver {
            addr,
            script,
            server,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        lock(&self.script.received).clone()
    }

    fn count(&self) -> usize {
        lock(&self.script.received).len()
    }

    /// Waits until `count` requests have arrived; returns all of them.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let what = format!("{count} requests at {}", self.url());
        eventually(&what, async || {
            let received = self.received();
            (received.len() >= count).then_some(received)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Every answer closes its connection, so that each request comes on a new
/// one and [`ScriptedListener`] can decide, request by request, which to drop.
async fn answer_request(
    State(script): State<Arc<Script>>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    script.record(method.as_str(), uri.path(), headers, body);
    let mut response = match script.next_answer() {
        Answer::Status(code) => {
            let status = StatusCode::from_u16(code).expect("a valid status");
            (status, format!("answered {code}")).into_response()
        }
        Answer::Hang(duration) => {
            tokio::time::sleep(duration).await;
            "answered late".into_response()
        }
        Answer::Redirect(location) => (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, location)],
            "moved",
        )
            .into_response(),
        Answer::Close => "a close is handled by the listener".into_response(),
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Hands connections to axum, except when the script's next answer is a
/// close: that connection is read to the end of its request and dropped.
struct ScriptedListener {
    inner: TcpListener,
    script: Arc<Script>,
}

impl axum::serve::Listener for ScriptedListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Ok((stream, peer)) = self.inner.accept().await else {
                tokio::time::sleep(POLL).await;
                continue;
            };
            if !self.script.take_close() {
                return (stream, peer);
            }
            let script = Arc::clone(&self.script);
            tokio::spawn(async move { read_and_drop(stream, &script).await });
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body), records it
/// and closes the connection without answering.
async fn read_and_drop(mut stream: TcpStream, script: &Script) {
    let mut data = Vec::new();
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        if !read_more(&mut stream, &mut data).await {
            return;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    let length: usize = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while data.len() < body_start + length {
        if !read_more(&mut stream, &mut data).await {
            return;
        }
    }
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let body = Bytes::copy_from_slice(&data[body_start..body_start + length]);
    script.record(&method, &path, headers, body);
    drop(stream);
}

async fn read_more(stream: &mut TcpStream, data: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(read) => {
            data.extend_from_slice(&chunk[..read]);
            true
        }
    }
}

// ---------------------------------------------------------------------------
// Talking to the server
// ---------------------------------------------------------------------------

/// Delivery settings small enough for a test to see several retries.
fn quick_delivery(config: &mut Config) {
    config.webhook_timeout_seconds = 1;
    config.webhook_sandbox_retry_base_ms = 100;
    config.webhook_live_retry_base_ms = 100;
    config.webhook_retry_max_delay_ms = 400;
    config.webhook_sandbox_max_attempts = SANDBOX_ATTEMPTS as u32;
    config.job_poll_interval_ms = 50;
}

async fn quick_server() -> TestServer {
    TestServer::start_with(quick_delivery).await
}

/// Who makes a request.
#[derive(Clone, Copy, Debug)]
enum Who<'a> {
    /// The platform, with its test key.
    Platform,
    /// The platform, with its live key.
    Live,
    /// A connected account, through `Stripe-Account` with the test key.
    Connected(&'a str),
}

fn request(server: &TestServer, who: Who<'_>, method: Method, path: &str) -> RequestBuilder {
    match who {
        Who::Platform => server.request(method, path),
        Who::Live => server
            .client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(&server.live_key),
        Who::Connected(account) => server
            .request(method, path)
            .header("stripe-account", account),
    }
}

async fn send(builder: RequestBuilder) -> Reply {
    Reply::read(builder.send().await.expect("request sent")).await
}

/// `POST` of an already encoded form body.
async fn post_form(server: &TestServer, who: Who<'_>, path: &str, body: &str) -> Reply {
    let builder = request(server, who, Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    send(builder).await
}

async fn post(server: &TestServer, who: Who<'_>, path: &str, pairs: &[(&str, &str)]) -> Reply {
    post_form(server, who, path, &serde_urlencoded_pairs(pairs)).await
}

async fn get(server: &TestServer, who: Who<'_>, path: &str) -> Reply {
    send(request(server, who, Method::GET, path)).await
}

/// A webhook endpoint as created: its id and signing secret.
#[derive(Clone, Debug)]
struct Endpoint {
    id: String,
    secret: String,
}

async fn create_endpoint(
    server: &TestServer,
    who: Who<'_>,
    url: &str,
    enabled_events: &[&str],
    connect: bool,
) -> Endpoint {
    let mut pairs = vec![("url", url)];
    pairs.extend(
        enabled_events
            .iter()
            .map(|event| ("enabled_events[]", *event)),
    );
    if connect {
        pairs.push(("connect", "true"));
    }
    let reply = post(server, who, "/v1/webhook_endpoints", &pairs).await;
    assert_eq!(reply.status, 200, "endpoint for {url}: {}", reply.body);
    Endpoint {
        id: reply.body["id"].as_str().expect("id").to_owned(),
        secret: reply.body["secret"].as_str().expect("secret").to_owned(),
    }
}

/// Changes `account`'s metadata, which records an `account.updated`.
async fn touch(server: &TestServer, who: Who<'_>, account: &str) -> Reply {
    let path = format!("/v1/accounts/{account}");
    let reply = post(server, who, &path, &[("metadata[touch]", &random_token(8))]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

/// Uploads a small CSV, which records a `file.created`.
async fn upload(server: &TestServer, who: Who<'_>) -> Reply {
    let part = Part::bytes(b"id,title\nsku_1,Mug\n".to_vec())
        .file_name("catalog.csv")
        .mime_str("text/csv")
        .expect("content type");
    let form = Form::new()
        .text("purpose", "data_management_manual_upload")
        .part("file", part);
    let reply = send(request(server, who, Method::POST, "/v1/files").multipart(form)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

/// The newest event of this type seen by `who`.
async fn latest_event(server: &TestServer, who: Who<'_>, event_type: &str) -> Value {
    let reply = get(
        server,
        who,
        &format!("/v1/events?limit=1&type={event_type}"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"][0].clone()
}

async fn event(server: &TestServer, who: Who<'_>, id: &str) -> Value {
    let reply = get(server, who, &format!("/v1/events/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// An endpoint's delivery attempts, oldest first.
async fn attempts(server: &TestServer, who: Who<'_>, endpoint_id: &str) -> Vec<Value> {
    let path = format!("/v1/webhook_endpoints/{endpoint_id}/attempts?limit=100");
    let reply = get(server, who, &path).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut list = reply.body["data"].as_array().cloned().unwrap_or_default();
    list.reverse();
    list
}

/// Waits until the endpoint has `count` attempts recorded.
async fn wait_for_attempts(
    server: &TestServer,
    who: Who<'_>,
    endpoint_id: &str,
    count: usize,
) -> Vec<Value> {
    let what = format!("{count} attempts on {endpoint_id}");
    eventually(&what, async || {
        let recorded = attempts(server, who, endpoint_id).await;
        (recorded.len() >= count).then_some(recorded)
    })
    .await
}

/// Waits until every endpoint the event was for has received it.
async fn wait_until_delivered(server: &TestServer, who: Who<'_>, event_id: &str) -> Value {
    let what = format!("pending_webhooks of {event_id} to reach 0");
    eventually(&what, async || {
        let event = event(server, who, event_id).await;
        (event["pending_webhooks"] == 0).then_some(event)
    })
    .await
}

/// `(state, attempts)` of every delivery job, from the store.
async fn delivery_jobs(server: &TestServer) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT state, attempts FROM jobs WHERE kind = 'webhook.deliver' ORDER BY seq")
        .fetch_all(server.db().pool())
        .await
        .expect("read the jobs")
}

/// Waits until no delivery job is queued or running.
async fn wait_until_jobs_finished(server: &TestServer) -> Vec<(String, i64)> {
    eventually("every delivery job to finish", async || {
        let jobs = delivery_jobs(server).await;
        let finished = jobs
            .iter()
            .all(|(state, _)| state == "succeeded" || state == "failed");
        finished.then_some(jobs)
    })
    .await
}

/// Polls `check` until it returns a value, for at most [`PATIENCE`].
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------------------
// Signatures, checked two ways
// ---------------------------------------------------------------------------

/// The `t=` value and every `v1=` value of a `Stripe-Signature` header.
fn signature_parts(header: &str) -> (String, Vec<String>) {
    let mut timestamp = String::new();
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.to_owned(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    (timestamp, signatures)
}

/// HMAC-SHA256 keyed with the whole secret over `"<t>.<body>"`, in hex,
/// computed here rather than by the server's code.
fn independent_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `body` under `header` verifies with `secret`; the crate's
/// `verify` and an independent HMAC must agree.
fn signed_by(header: &str, body: &[u8], secret: &str) -> bool {
    let by_crate = signing::verify(header, body, secret, now_unix(), TOLERANCE_SECONDS).is_ok();
    let (timestamp, signatures) = signature_parts(header);
    let by_hand = signatures.contains(&independent_signature(secret, &timestamp, body));
    assert_eq!(
        by_crate, by_hand,
        "verify and the independent HMAC disagree on {header}"
    );
    by_hand
}

/// Checks the header's form: `t=<unix seconds>,v1=<hex>...`, no spaces,
/// a timestamp within the tolerance. Returns the number of `v1=` entries.
fn check_signature_header(header: &str) -> usize {
    assert!(!header.contains(' '), "spaces in {header:?}");
    assert!(header.starts_with("t="), "{header:?}");
    let (timestamp, signatures) = signature_parts(header);
    let timestamp: i64 = timestamp.parse().expect("t= is unix seconds");
    assert!(
        (now_unix() - timestamp).abs() <= TOLERANCE_SECONDS,
        "{header:?}"
    );
    for signature in &signatures {
        assert_eq!(signature.len(), 64, "{header:?}");
        assert!(signature
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    signatures.len()
}

// ---------------------------------------------------------------------------
// 1. Endpoints
// ---------------------------------------------------------------------------

#[tokio::test]
async fn endpoints_are_created_read_updated_and_deleted_in_stripes_shape() {
    let server = quick_server().await;

    let created = post(
        &server,
        Who::Platform,
        "/v1/webhook_endpoints",
        &[
            ("url", "https://hooks.example.com/mercato"),
            ("enabled_events[]", "account.updated"),
            ("enabled_events[]", "file.created"),
            ("description", "Fulfilment"),
            ("metadata[team]", "ops"),
        ],
    )
    .await;

    assert_eq!(created.status, 200, "{}", created.body);
    let endpoint = &created.body;
    let id = endpoint["id"].as_str().unwrap_or_default().to_owned();
    assert!(id.starts_with("we_"), "{endpoint}");
    assert_eq!(endpoint["object"], "webhook_endpoint");
    assert!(endpoint["secret"]
        .as_str()
        .unwrap_or_default()
        .starts_with("whsec_"));
    assert_eq!(endpoint["url"], "https://hooks.example.com/mercato");
    assert_eq!(
        endpoint["enabled_events"],
        json!(["account.updated", "file.created"])
    );
    assert_eq!(endpoint["description"], "Fulfilment");
    assert_eq!(endpoint["metadata"], json!({ "team": "ops" }));
    assert_eq!(endpoint["status"], "enabled");
    assert_eq!(endpoint["livemode"], false);
    assert_eq!(endpoint["connect"], false);
    assert!(endpoint["created"].is_i64());

    let path = format!("/v1/webhook_endpoints/{id}");
    let mut without_secret = endpoint.clone();
    if let Some(fields) = without_secret.as_object_mut() {
        fields.remove("secret");
    }
    let retrieved = get(&server, Who::Platform, &path).await;
    assert_eq!(retrieved.status, 200, "{}", retrieved.body);
    assert_eq!(retrieved.body, without_secret, "retrieve shows no secret");
    let listed = get(&server, Who::Platform, "/v1/webhook_endpoints").await;
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["url"], "/v1/webhook_endpoints");
    assert_eq!(
        listed.body["data"],
        json!([without_secret]),
        "list shows no secret"
    );

    let updated = post(
        &server,
        Who::Platform,
        &path,
        &[
            ("url", "https://hooks.example.com/v2"),
            ("enabled_events[]", "*"),
        ],
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["url"], "https://hooks.example.com/v2");
    assert_eq!(updated.body["enabled_events"], json!(["*"]));
    assert_eq!(updated.body["description"], "Fulfilment");
    assert!(updated.body.get("secret").is_none(), "{}", updated.body);

    for (disabled, status) in [("true", "disabled"), ("false", "enabled")] {
        let changed = post(&server, Who::Platform, &path, &[("disabled", disabled)]).await;
        assert_eq!(changed.body["status"], status, "disabled={disabled}");
        let retrieved = get(&server, Who::Platform, &path).await;
        assert_eq!(retrieved.body["status"], status, "disabled={disabled}");
    }

    let deleted = send(request(&server, Who::Platform, Method::DELETE, &path)).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        deleted.body,
        json!({ "id": id, "object": "webhook_endpoint", "deleted": true })
    );
    let gone = get(&server, Who::Platform, &path).await;
    assert_eq!(gone.error(404)["code"], "resource_missing");
    let listed = get(&server, Who::Platform, "/v1/webhook_endpoints").await;
    assert_eq!(listed.body["data"], json!([]));
    let deleted_again = send(request(&server, Who::Platform, Method::DELETE, &path)).await;
    deleted_again.error(404);
}

#[tokio::test]
async fn bad_endpoint_input_is_refused_naming_the_parameter() {
    let server = quick_server().await;
    let connected = server.connected_account("Shop").await;
    let shop = Who::Connected(&connected);
    let (platform, live) = (Who::Platform, Who::Live);
    let url = "url=https://h.example/x";
    let ok = format!("{url}&enabled_events[]=*");

    // (who, form body, refused param, error code or "" when any will do)
    #[rustfmt::skip]
    let cases = [
        (platform, "enabled_events[]=*".to_owned(), "url", "parameter_missing"),
        (platform, "url=https://h.example/x".to_owned(), "enabled_events", "parameter_missing"),
        (platform, "url=ftp://h.example/x&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (platform, "url=h.example&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (platform, "url=http://10.1.2.3/x&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (live, "url=http://127.0.0.1:4000/x&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (live, "url=http://[::1]:4000/x&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (live, "url=http://192.168.1.20/x&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (live, "url=http://169.254.169.254/x&enabled_events[]=*".to_owned(), "url", "url_invalid"),
        (platform, "url=https://h.example/x&enabled_events=".to_owned(), "enabled_events", ""),
        (platform, "url=https://h.example/x&enabled_events[]=".to_owned(), "enabled_events", ""),
        (platform, format!("{url}&enabled_events[]=Account.Updated"), "enabled_events", ""),
        (platform, format!("{url}&enabled_events[]=account"), "enabled_events", ""),
        (platform, format!("{url}&enabled_events[]=account..updated"), "enabled_events", ""),
        (platform, format!("{ok}&enabled_events[]=all%20of%20them"), "enabled_events", ""),
        (shop, format!("{ok}&connect=true"), "connect", ""),
        (platform, format!("{ok}&api_version=yesterday"), "api_version", ""),
        (platform, format!("{ok}&colour=blue"), "colour", "parameter_unknown"),
    ];
    for (who, body, param, code) in &cases {
        let reply = post_form(&server, *who, "/v1/webhook_endpoints", body).await;

        let error = reply.error(400);
        assert_eq!(error["type"], "invalid_request_error", "{who:?} {body}");
        assert_eq!(error["param"], *param, "{who:?} {body}: {error}");
        if !code.is_empty() {
            assert_eq!(error["code"], *code, "{who:?} {body}: {error}");
        }
    }
    let listed = get(&server, Who::Platform, "/v1/webhook_endpoints").await;
    assert_eq!(listed.body["data"], json!([]), "nothing refused was kept");

    #[rustfmt::skip]
    let accepted = [
        (platform, "url=http://127.0.0.1:4000/x&enabled_events[]=*".to_owned()),
        (platform, "url=http://localhost:4000/x&enabled_events[]=account.updated".to_owned()),
        (live, "url=https://h.example/live&enabled_events[]=*".to_owned()),
        (live, "url=http://localhost:4000/x&enabled_events[]=*".to_owned()),
        (shop, ok.clone()),
        (platform, format!("{ok}&connect=true&api_version=2024-06-20")),
    ];
    for (who, body) in &accepted {
        let reply = post_form(&server, *who, "/v1/webhook_endpoints", body).await;
        assert_eq!(reply.status, 200, "{who:?} {body}: {}", reply.body);
    }
}

#[tokio::test]
async fn updates_are_checked_like_creation() {
    let server = quick_server().await;
    let test = create_endpoint(
        &server,
        Who::Platform,
        "https://hooks.example.com/t",
        &["*"],
        false,
    )
    .await;
    let live = create_endpoint(
        &server,
        Who::Live,
        "https://hooks.example.com/l",
        &["*"],
        false,
    )
    .await;

    // (who, endpoint, form body, refused param)
    #[rustfmt::skip]
    let cases = [
        (Who::Platform, &test, "url=ftp://h.example/x", "url"),
        (Who::Live, &live, "url=http://127.0.0.1:4000/x", "url"),
        (Who::Platform, &test, "enabled_events[]=Not-An-Event", "enabled_events"),
        (Who::Platform, &test, "connect=true", "connect"),
        (Who::Platform, &test, "secret=whsec_mine", "secret"),
    ];
    for (who, endpoint, body, param) in cases {
        let path = format!("/v1/webhook_endpoints/{}", endpoint.id);
        let reply = post_form(&server, who, &path, body).await;

        assert_eq!(reply.error(400)["param"], param, "{body}: {}", reply.body);
    }
    let unchanged = get(
        &server,
        Who::Live,
        &format!("/v1/webhook_endpoints/{}", live.id),
    )
    .await;
    assert_eq!(unchanged.body["url"], "https://hooks.example.com/l");
}

#[tokio::test]
async fn another_accounts_endpoint_is_not_found() {
    let server = quick_server().await;
    let connected = server.connected_account("Shop").await;
    let shop = Who::Connected(&connected);
    let platform_endpoint = create_endpoint(
        &server,
        Who::Platform,
        "https://hooks.example.com/p",
        &["*"],
        false,
    )
    .await;
    let shop_endpoint =
        create_endpoint(&server, shop, "https://hooks.example.com/s", &["*"], false).await;

    // (who, method, path under the other account's endpoint, form body)
    #[rustfmt::skip]
    let cases = [
        (shop, &platform_endpoint, Method::GET, "", ""),
        (shop, &platform_endpoint, Method::POST, "", "description=mine"),
        (shop, &platform_endpoint, Method::DELETE, "", ""),
        (shop, &platform_endpoint, Method::POST, "/roll_secret", "expires_in=0"),
        (shop, &platform_endpoint, Method::GET, "/attempts", ""),
        (Who::Live, &platform_endpoint, Method::GET, "", ""),
        (Who::Platform, &shop_endpoint, Method::GET, "", ""),
        (Who::Platform, &shop_endpoint, Method::DELETE, "", ""),
    ];
    for (who, endpoint, method, suffix, body) in cases {
        let path = format!("/v1/webhook_endpoints/{}{suffix}", endpoint.id);
        let mut builder = request(&server, who, method.clone(), &path);
        if method == Method::POST {
            builder = builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let reply = send(builder).await;

        assert_eq!(
            reply.error(404)["code"],
            "resource_missing",
            "{who:?} {method} {path}"
        );
    }
    for (who, endpoint) in [(Who::Platform, &platform_endpoint), (shop, &shop_endpoint)] {
        let still = get(
            &server,
            who,
            &format!("/v1/webhook_endpoints/{}", endpoint.id),
        )
        .await;
        assert_eq!(still.status, 200, "{}", still.body);
        assert!(still.body["description"].is_null());
    }
}

// ---------------------------------------------------------------------------
// 2. Delivery
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_connected_accounts_event_arrives_once_signed_with_the_endpoint_secret() {
    let server = quick_server().await;
    let receiver = Receiver::start(Vec::new()).await;
    let connected = server.connected_account("Shop").await;
    let endpoint = create_endpoint(
        &server,
        Who::Platform,
        &receiver.url(),
        &["account.updated"],
        true,
    )
    .await;

    let update = request(
        &server,
        Who::Platform,
        Method::POST,
        &format!("/v1/accounts/{connected}"),
    )
    .header("idempotency-key", "rename-7")
    .header("content-type", "application/x-www-form-urlencoded")
    .body("metadata[step]=1");
    let updated = send(update).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let request_id = updated.header("request-id").unwrap_or_default().to_owned();

    let received = receiver.wait_for(1).await;
    let event_id = received[0].event_id();
    let stored = wait_until_delivered(&server, Who::Connected(&connected), &event_id).await;
    assert_eq!(receiver.count(), 1, "delivered exactly once");
    let delivery = &received[0];
    assert_eq!(delivery.method, "POST");
    assert_eq!(delivery.path, "/hooks");
    let media_type = delivery
        .header("content-type")
        .split(';')
        .next()
        .unwrap_or_default();
    assert_eq!(media_type.trim(), "application/json");

    let body = delivery.json();
    assert!(event_id.starts_with("evt_"), "{body}");
    assert_eq!(body["object"], "event");
    assert_eq!(body["type"], "account.updated");
    assert_eq!(body["livemode"], false);
    assert_eq!(body["account"], connected.as_str());
    assert!(
        body["api_version"].is_string() && body["created"].is_i64(),
        "{body}"
    );
    assert_eq!(body["data"]["object"]["id"], connected.as_str());
    assert_eq!(body["data"]["object"]["metadata"]["step"], "1");
    assert_eq!(
        body["data"]["previous_attributes"],
        json!({ "metadata": { "step": null } })
    );
    let event_request_id = body["request"]["id"].as_str().unwrap_or_default();
    assert!(event_request_id.starts_with("req_"), "{body}");
    assert_eq!(event_request_id, request_id, "the request that caused it");
    assert_eq!(body["request"]["idempotency_key"], "rename-7");
    assert_eq!(stored["id"], body["id"]);
    assert_eq!(stored["data"], body["data"]);
    assert_eq!(stored["request"], body["request"]);
    assert_eq!(stored["pending_webhooks"], 0);

    let header = delivery.header("stripe-signature");
    assert_eq!(
        check_signature_header(header),
        1,
        "one secret, one v1: {header}"
    );
    assert!(signed_by(header, &delivery.body, &endpoint.secret));
    assert!(!signed_by(
        header,
        &delivery.body,
        &signing::generate_secret()
    ));
    let mut tampered = body.clone();
    tampered["data"]["object"]["metadata"]["step"] = json!("2");
    let tampered = serde_json::to_vec_pretty(&tampered).expect("json");
    assert!(
        !signed_by(header, &tampered, &endpoint.secret),
        "a tampered body fails"
    );
    let mut one_more_byte = delivery.body.to_vec();
    one_more_byte.push(b'\n');
    assert!(!signed_by(header, &one_more_byte, &endpoint.secret));
}

#[tokio::test]
async fn pending_webhooks_counts_the_endpoints_not_yet_reached() {
    let server = quick_server().await;
    let slow = Receiver::start(vec![Answer::Hang(Duration::from_secs(3))]).await;
    let fast = Receiver::start(Vec::new()).await;
    let slow_endpoint = create_endpoint(&server, Who::Platform, &slow.url(), &["*"], false).await;
    let fast_endpoint = create_endpoint(&server, Who::Platform, &fast.url(), &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;
    let event_id = latest_event(&server, Who::Platform, "account.updated").await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    fast.wait_for(1).await;
    slow.wait_for(1).await;
    wait_for_attempts(&server, Who::Platform, &fast_endpoint.id, 1).await;
    let during = event(&server, Who::Platform, &event_id).await;
    let slow_attempts = attempts(&server, Who::Platform, &slow_endpoint.id).await;
    assert!(
        slow_attempts.is_empty(),
        "the slow endpoint is still hanging"
    );
    assert_eq!(during["pending_webhooks"], 1, "{during}");

    wait_until_delivered(&server, Who::Platform, &event_id).await;
    let slow_attempts = attempts(&server, Who::Platform, &slow_endpoint.id).await;
    assert_eq!(slow_attempts.len(), 2, "{slow_attempts:?}");
    assert_eq!(slow_attempts[1]["status_code"], 200);
}

// ---------------------------------------------------------------------------
// 3. Routing
// ---------------------------------------------------------------------------

/// What happens to an endpoint after it is created, before events occur.
#[derive(Clone, Copy, Debug)]
enum Afterwards {
    Kept,
    Disabled,
    Deleted,
}

const OWN_UPDATE: &str = "platform account.updated";
const OWN_FILE: &str = "platform file.created";
const SHOP_UPDATE: &str = "connected account.updated";
const SHOP_FILE: &str = "connected file.created";
const LIVE_UPDATE: &str = "live platform account.updated";

#[tokio::test]
async fn events_go_only_to_the_endpoints_subscribed_to_them() {
    let server = TestServer::start_with(|config| {
        quick_delivery(config);
        config.webhook_allow_private_targets = true;
    })
    .await;
    let connected = server.connected_account("Shop").await;
    let shop = Who::Connected(&connected);

    // (owner, connect, enabled_events, afterwards, events expected)
    #[rustfmt::skip]
    let routes = [
        (Who::Platform, false, vec!["*"], Afterwards::Kept, vec![OWN_UPDATE, OWN_FILE]),
        (Who::Platform, false, vec!["file.created"], Afterwards::Kept, vec![OWN_FILE]),
        (Who::Platform, true, vec!["*"], Afterwards::Kept, vec![SHOP_UPDATE, SHOP_FILE]),
        (Who::Platform, true, vec!["account.updated"], Afterwards::Kept, vec![SHOP_UPDATE]),
        (shop, false, vec!["*"], Afterwards::Kept, vec![SHOP_UPDATE, SHOP_FILE]),
        (Who::Live, false, vec!["*"], Afterwards::Kept, vec![LIVE_UPDATE]),
        (Who::Live, true, vec!["*"], Afterwards::Kept, vec![]),
        (Who::Platform, false, vec!["*"], Afterwards::Disabled, vec![]),
        (Who::Platform, true, vec!["*"], Afterwards::Deleted, vec![]),
        (Who::Platform, false, vec!["customer.created"], Afterwards::Kept, vec![]),
    ];
    let mut receivers = Vec::new();
    for (owner, connect, enabled_events, afterwards, _) in &routes {
        let receiver = Receiver::start(Vec::new()).await;
        let endpoint =
            create_endpoint(&server, *owner, &receiver.url(), enabled_events, *connect).await;
        let path = format!("/v1/webhook_endpoints/{}", endpoint.id);
        match afterwards {
            Afterwards::Kept => {}
            Afterwards::Disabled => {
                post(&server, *owner, &path, &[("disabled", "true")]).await;
            }
            Afterwards::Deleted => {
                send(request(&server, *owner, Method::DELETE, &path)).await;
            }
        }
        receivers.push(receiver);
    }

    touch(&server, Who::Platform, &server.platform_id).await;
    upload(&server, Who::Platform).await;
    touch(&server, Who::Platform, &connected).await;
    upload(&server, shop).await;
    touch(&server, Who::Live, &server.platform_id).await;
    let events = [
        (OWN_UPDATE, Who::Platform, "account.updated"),
        (OWN_FILE, Who::Platform, "file.created"),
        (SHOP_UPDATE, shop, "account.updated"),
        (SHOP_FILE, shop, "file.created"),
        (LIVE_UPDATE, Who::Live, "account.updated"),
    ];
    let mut label_of = std::collections::HashMap::new();
    for (label, who, event_type) in events {
        let found = latest_event(&server, who, event_type).await;
        let id = found["id"].as_str().expect("event recorded").to_owned();
        wait_until_delivered(&server, who, &id).await;
        label_of.insert(id, label);
    }

    for ((owner, connect, enabled_events, afterwards, expected), receiver) in
        routes.iter().zip(&receivers)
    {
        let mut got: Vec<&str> = Vec::new();
        for delivery in receiver.received() {
            let body = delivery.json();
            let label = label_of
                .get(&delivery.event_id())
                .copied()
                .unwrap_or("another event");
            let from_shop = label == SHOP_UPDATE || label == SHOP_FILE;
            if from_shop {
                assert_eq!(body["account"], connected.as_str(), "{body}");
            } else {
                assert!(body.get("account").is_none(), "{body}");
            }
            got.push(label);
        }
        got.sort_unstable();
        let mut expected = expected.clone();
        expected.sort_unstable();
        assert_eq!(
            got, expected,
            "endpoint of {owner:?} connect={connect} {enabled_events:?} {afterwards:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Faults and recovery
// ---------------------------------------------------------------------------

/// What an attempt must show.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// The receiver answered this status.
    Answered(u16),
    /// No answer: the attempt's error contains this text.
    Failed(&'static str),
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_answers_2xx() {
    use Outcome::{Answered, Failed};

    // (fault, the receiver's first answers, attempts expected, oldest first)
    #[rustfmt::skip]
    let cases = [
        (
            "500 twice",
            vec![Answer::Status(500), Answer::Status(500)],
            vec![Answered(500), Answered(500), Answered(200)],
        ),
        (
            "a hang past the timeout",
            vec![Answer::Hang(Duration::from_millis(2500))],
            vec![Failed("timed out"), Answered(200)],
        ),
        (
            "a connection closed without an answer",
            vec![Answer::Close],
            vec![Failed(""), Answered(200)],
        ),
        (
            "404, 429 and 503, then 204",
            [404, 429, 503, 204].map(Answer::Status).to_vec(),
            vec![Answered(404), Answered(429), Answered(503), Answered(204)],
        ),
    ];
    for (fault, answers, expected) in cases {
        let server = quick_server().await;
        let receiver = Receiver::start(answers).await;
        let endpoint =
            create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;

        touch(&server, Who::Platform, &server.platform_id).await;

        let received = receiver.wait_for(expected.len()).await;
        let event_id = received[0].event_id();
        wait_until_delivered(&server, Who::Platform, &event_id).await;
        let recorded = attempts(&server, Who::Platform, &endpoint.id).await;
        assert_eq!(recorded.len(), expected.len(), "{fault}: {recorded:?}");
        assert_eq!(receiver.count(), expected.len(), "{fault}");
        for delivery in &received {
            assert_eq!(
                delivery.event_id(),
                event_id,
                "{fault}: the same event each time"
            );
            assert!(signed_by(
                delivery.header("stripe-signature"),
                &delivery.body,
                &endpoint.secret
            ));
        }
        for (index, (attempt, outcome)) in recorded.iter().zip(&expected).enumerate() {
            let last = index + 1 == expected.len();
            assert_eq!(attempt["object"], "webhook_endpoint.attempt", "{fault}");
            assert_eq!(attempt["event"], event_id.as_str(), "{fault}");
            assert_eq!(attempt["webhook_endpoint"], endpoint.id.as_str(), "{fault}");
            assert_eq!(attempt["succeeded"], last, "{fault}: {attempt}");
            assert!(
                attempt["duration_ms"].as_i64().is_some_and(|ms| ms >= 0),
                "{attempt}"
            );
            match outcome {
                Outcome::Answered(code) => {
                    assert_eq!(attempt["status_code"], *code, "{fault}: {attempt}");
                    assert!(attempt["error"].is_null(), "{fault}: {attempt}");
                    if *code != 204 {
                        let head = format!("answered {code}");
                        assert_eq!(attempt["response_body_head"], head.as_str(), "{fault}");
                    }
                }
                Outcome::Failed(text) => {
                    assert!(attempt["status_code"].is_null(), "{fault}: {attempt}");
                    let error = attempt["error"].as_str().unwrap_or_default();
                    assert!(
                        !error.is_empty() && error.contains(text),
                        "{fault}: {attempt}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_timed_out_attempt_lasts_about_the_timeout() {
    let server = quick_server().await;
    let receiver = Receiver::start(vec![Answer::Hang(Duration::from_secs(3))]).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;

    let recorded = wait_for_attempts(&server, Who::Platform, &endpoint.id, 2).await;
    let timed_out = &recorded[0];
    let error = timed_out["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("timed out") && error.contains("1 s"),
        "{timed_out}"
    );
    let duration = timed_out["duration_ms"].as_i64().unwrap_or_default();
    assert!((900..2_900).contains(&duration), "{timed_out}");
    assert_eq!(recorded[1]["status_code"], 200);
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_is_not_followed() {
    let server = quick_server().await;
    let elsewhere = Receiver::start(Vec::new()).await;
    let receiver = Receiver::start(vec![Answer::Redirect(elsewhere.url())]).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;

    let received = receiver.wait_for(2).await;
    wait_until_delivered(&server, Who::Platform, &received[0].event_id()).await;
    let recorded = attempts(&server, Who::Platform, &endpoint.id).await;
    let codes: Vec<&Value> = recorded
        .iter()
        .map(|attempt| &attempt["status_code"])
        .collect();
    assert_eq!(codes, [&json!(301), &json!(200)]);
    assert_eq!(recorded[0]["succeeded"], false);
    assert_eq!(elsewhere.count(), 0, "the Location target receives nothing");
}

#[tokio::test]
async fn a_receiver_that_is_down_for_a_while_gets_the_event_when_it_comes_back() {
    let server = quick_server().await;
    let vacant = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = vacant.local_addr().expect("address");
    drop(vacant);
    let url = format!("http://{addr}/hooks");
    let endpoint = create_endpoint(&server, Who::Platform, &url, &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;
    let refused = wait_for_attempts(&server, Who::Platform, &endpoint.id, 2).await;
    let receiver = Receiver::start_on(addr).await;

    let received = receiver.wait_for(1).await;
    wait_until_delivered(&server, Who::Platform, &received[0].event_id()).await;
    for attempt in &refused {
        assert!(attempt["status_code"].is_null(), "{attempt}");
        let error = attempt["error"].as_str().unwrap_or_default();
        assert!(error.contains("could not connect"), "{attempt}");
    }
    let recorded = attempts(&server, Who::Platform, &endpoint.id).await;
    let last = recorded.last().expect("attempts");
    assert_eq!(last["status_code"], 200, "{recorded:?}");
    assert_eq!(receiver.count(), 1);
    assert!(signed_by(
        received[0].header("stripe-signature"),
        &received[0].body,
        &endpoint.secret
    ));
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_says_so_with_an_event() {
    let server = quick_server().await;
    let gone = Receiver::start(vec![Answer::Status(410)]).await;
    let witness = Receiver::start(Vec::new()).await;
    let gone_endpoint = create_endpoint(&server, Who::Platform, &gone.url(), &["*"], false).await;
    create_endpoint(&server, Who::Platform, &witness.url(), &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;
    let disabled_event = eventually("a webhook_endpoint.disabled event", async || {
        let found = latest_event(&server, Who::Platform, "webhook_endpoint.disabled").await;
        found.is_object().then_some(found)
    })
    .await;

    let endpoint_path = format!("/v1/webhook_endpoints/{}", gone_endpoint.id);
    let endpoint = get(&server, Who::Platform, &endpoint_path).await.body;
    assert_eq!(endpoint["status"], "disabled", "{endpoint}");
    let recorded = attempts(&server, Who::Platform, &gone_endpoint.id).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["status_code"], 410);
    assert_eq!(recorded[0]["succeeded"], false);
    assert_eq!(
        disabled_event["data"]["object"]["id"],
        gone_endpoint.id.as_str()
    );
    assert_eq!(disabled_event["data"]["object"]["status"], "disabled");
    assert!(disabled_event["data"]["object"].get("secret").is_none());
    assert_eq!(
        disabled_event["data"]["previous_attributes"],
        json!({ "status": "enabled" })
    );
    let disabled_id = disabled_event["id"].as_str().unwrap_or_default().to_owned();
    wait_until_delivered(&server, Who::Platform, &disabled_id).await;

    touch(&server, Who::Platform, &server.platform_id).await;
    let later = latest_event(&server, Who::Platform, "account.updated").await;
    let later_id = later["id"].as_str().unwrap_or_default().to_owned();
    wait_until_delivered(&server, Who::Platform, &later_id).await;
    let witnessed: Vec<String> = witness.received().iter().map(Received::event_id).collect();
    assert!(
        witnessed.contains(&disabled_id),
        "other endpoints hear of it"
    );
    assert!(witnessed.contains(&later_id));
    assert_eq!(gone.count(), 1, "nothing more goes to a disabled endpoint");
    let recorded = attempts(&server, Who::Platform, &gone_endpoint.id).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
}

#[tokio::test]
async fn an_endpoint_failing_for_the_configured_days_is_disabled() {
    // With 0 days, the first failure is already a run long enough.
    let server = TestServer::start_with(|config| {
        quick_delivery(config);
        config.webhook_disable_after_failing_days = 0;
    })
    .await;
    let receiver = Receiver::always(Answer::Status(500)).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;

    let disabled_event = eventually("a webhook_endpoint.disabled event", async || {
        let found = latest_event(&server, Who::Platform, "webhook_endpoint.disabled").await;
        found.is_object().then_some(found)
    })
    .await;
    assert_eq!(disabled_event["data"]["object"]["id"], endpoint.id.as_str());
    let path = format!("/v1/webhook_endpoints/{}", endpoint.id);
    let disabled = get(&server, Who::Platform, &path).await.body;
    assert_eq!(disabled["status"], "disabled", "{disabled}");
    assert!(disabled["disabled_reason"].is_string(), "{disabled}");
    wait_until_jobs_finished(&server).await;
    assert_eq!(
        receiver.count(),
        1,
        "no retry after the endpoint was disabled"
    );

    let enabled = post(&server, Who::Platform, &path, &[("disabled", "false")]).await;
    assert_eq!(enabled.body["status"], "enabled", "{}", enabled.body);
    assert!(
        enabled.body.get("disabled_reason").is_none(),
        "{}",
        enabled.body
    );
}

#[tokio::test]
async fn sandbox_gives_up_after_its_attempts() {
    let server = quick_server().await;
    let receiver = Receiver::always(Answer::Status(500)).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;

    touch(&server, Who::Platform, &server.platform_id).await;

    let jobs = wait_until_jobs_finished(&server).await;
    assert_eq!(jobs, [("failed".to_owned(), SANDBOX_ATTEMPTS as i64)]);
    let recorded = attempts(&server, Who::Platform, &endpoint.id).await;
    assert_eq!(recorded.len(), SANDBOX_ATTEMPTS, "{recorded:?}");
    assert!(recorded.iter().all(|attempt| attempt["status_code"] == 500));
    let received = receiver.received();
    assert_eq!(received.len(), SANDBOX_ATTEMPTS);
    let gaps: Vec<Duration> = received
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect();
    assert!(
        gaps.iter().all(|gap| *gap >= Duration::from_millis(40)),
        "backoff: {gaps:?}"
    );
    let event = event(&server, Who::Platform, &received[0].event_id()).await;
    assert_eq!(event["pending_webhooks"], 1, "never reached");
    let endpoint = get(
        &server,
        Who::Platform,
        &format!("/v1/webhook_endpoints/{}", endpoint.id),
    )
    .await;
    assert_eq!(
        endpoint.body["status"], "enabled",
        "giving up is not disabling"
    );
}

// ---------------------------------------------------------------------------
// 5. A slow endpoint and a fast one
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_endpoint_does_not_hold_up_another() {
    const EVENTS: usize = 20;
    const PER_ENDPOINT: usize = 4;
    let server = TestServer::start_with(|config| {
        quick_delivery(config);
        config.webhook_timeout_seconds = 2;
        config.webhook_endpoint_concurrency = PER_ENDPOINT;
    })
    .await;
    let slow = Receiver::always(Answer::Hang(Duration::from_secs(30))).await;
    let fast = Receiver::start(Vec::new()).await;
    create_endpoint(&server, Who::Platform, &slow.url(), &["*"], false).await;
    create_endpoint(&server, Who::Platform, &fast.url(), &["*"], false).await;

    for _ in 0..EVENTS {
        touch(&server, Who::Platform, &server.platform_id).await;
    }
    let created = Instant::now();

    let received = fast.wait_for(EVENTS).await;
    let last_arrival = received
        .iter()
        .map(|delivery| delivery.at)
        .max()
        .expect("some");
    assert!(
        last_arrival.saturating_duration_since(created) < Duration::from_secs(3),
        "the fast endpoint took {:?} after the events were created",
        last_arrival.saturating_duration_since(created)
    );
    let mut ids: Vec<String> = received.iter().map(Received::event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS, "every event once");
    let hanging = slow.received();
    let first_slow = hanging.first().expect("the slow endpoint was tried").at;
    let at_once = hanging
        .iter()
        .filter(|delivery| delivery.at.duration_since(first_slow) < Duration::from_millis(1_900))
        .count();
    assert!(
        at_once <= PER_ENDPOINT,
        "{at_once} deliveries in flight to one endpoint"
    );
}

// ---------------------------------------------------------------------------
// 6. Secret rolls
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_rolled_secret_signs_beside_the_old_one_for_the_overlap() {
    let server = quick_server().await;
    let receiver = Receiver::start(Vec::new()).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;
    let roll_path = format!("/v1/webhook_endpoints/{}/roll_secret", endpoint.id);

    let rolled = post(
        &server,
        Who::Platform,
        &roll_path,
        &[("expires_in", "3600")],
    )
    .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert_eq!(rolled.body["id"], endpoint.id.as_str());
    let second_secret = rolled.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(second_secret.starts_with("whsec_"), "{}", rolled.body);
    assert_ne!(second_secret, endpoint.secret);
    touch(&server, Who::Platform, &server.platform_id).await;
    let during = receiver.wait_for(1).await.remove(0);
    let header = during.header("stripe-signature");
    assert_eq!(check_signature_header(header), 2, "{header}");
    assert!(
        signed_by(header, &during.body, &endpoint.secret),
        "the old secret still verifies"
    );
    assert!(
        signed_by(header, &during.body, &second_secret),
        "the new secret verifies"
    );
    let (timestamp, signatures) = signature_parts(header);
    for secret in [&endpoint.secret, &second_secret] {
        let expected = independent_signature(secret, &timestamp, &during.body);
        let matching = signatures
            .iter()
            .filter(|signature| **signature == expected)
            .count();
        assert_eq!(matching, 1, "one v1 per secret: {header}");
    }

    let rolled = post(&server, Who::Platform, &roll_path, &[("expires_in", "0")]).await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    let third_secret = rolled.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    touch(&server, Who::Platform, &server.platform_id).await;
    let after = receiver.wait_for(2).await.remove(1);
    let header = after.header("stripe-signature");
    assert_eq!(check_signature_header(header), 1, "{header}");
    assert!(signed_by(header, &after.body, &third_secret));
    assert!(!signed_by(header, &after.body, &second_secret));
    assert!(!signed_by(header, &after.body, &endpoint.secret));

    for refused in ["90000", "86401", "-1", "soon"] {
        let reply = post(
            &server,
            Who::Platform,
            &roll_path,
            &[("expires_in", refused)],
        )
        .await;
        assert_eq!(
            reply.error(400)["param"],
            "expires_in",
            "expires_in={refused}"
        );
    }
    let still = get(
        &server,
        Who::Platform,
        &format!("/v1/webhook_endpoints/{}", endpoint.id),
    )
    .await;
    assert!(still.body.get("secret").is_none());
    let longest = post(
        &server,
        Who::Platform,
        &roll_path,
        &[("expires_in", "86400")],
    )
    .await;
    assert_eq!(longest.status, 200, "24 hours is allowed: {}", longest.body);
}

#[tokio::test]
async fn a_roll_made_while_a_delivery_is_in_flight_is_kept() {
    let server = quick_server().await;
    let receiver = Receiver::start(vec![Answer::Hang(Duration::from_secs(2))]).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;
    let endpoint_path = format!("/v1/webhook_endpoints/{}", endpoint.id);

    touch(&server, Who::Platform, &server.platform_id).await;
    receiver.wait_for(1).await;
    let rolled = post(
        &server,
        Who::Platform,
        &format!("{endpoint_path}/roll_secret"),
        &[("expires_in", "0")],
    )
    .await;
    let new_secret = rolled.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let described = post(
        &server,
        Who::Platform,
        &endpoint_path,
        &[("description", "Changed in flight")],
    )
    .await;
    assert_eq!(described.status, 200, "{}", described.body);

    let retried = receiver.wait_for(2).await.remove(1);
    let header = retried.header("stripe-signature");
    let kept = get(&server, Who::Platform, &endpoint_path).await.body;
    let seen = (
        signed_by(header, &retried.body, &new_secret),
        signed_by(header, &retried.body, &endpoint.secret),
        kept["description"].clone(),
    );
    assert_eq!(
        seen,
        (true, false, json!("Changed in flight")),
        "(signed by the new secret, signed by the old one, description) after the attempt"
    );
}

#[tokio::test]
async fn an_endpoint_disabled_while_a_delivery_is_in_flight_stays_disabled() {
    let server = quick_server().await;
    let receiver = Receiver::start(vec![Answer::Hang(Duration::from_secs(2))]).await;
    let endpoint = create_endpoint(&server, Who::Platform, &receiver.url(), &["*"], false).await;
    let endpoint_path = format!("/v1/webhook_endpoints/{}", endpoint.id);

    touch(&server, Who::Platform, &server.platform_id).await;
    receiver.wait_for(1).await;
    let disabled = post(
        &server,
        Who::Platform,
        &endpoint_path,
        &[("disabled", "true")],
    )
    .await;
    assert_eq!(disabled.body["status"], "disabled", "{}", disabled.body);

    wait_for_attempts(&server, Who::Platform, &endpoint.id, 1).await;
    wait_until_jobs_finished(&server).await;
    let after = get(&server, Who::Platform, &endpoint_path).await.body;
    assert_eq!(
        (after["status"].clone(), receiver.count()),
        (json!("disabled"), 1),
        "(status, requests received) once the in-flight attempt ended: {after}"
    );
}

// ---------------------------------------------------------------------------
// 7. The events API
// ---------------------------------------------------------------------------

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|event| event["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn events_are_listed_newest_first_with_filters_and_cursors() {
    let server = quick_server().await;
    let connected = server.connected_account("Shop").await;
    for _ in 0..3 {
        touch(&server, Who::Platform, &server.platform_id).await;
    }
    upload(&server, Who::Platform).await;
    touch(&server, Who::Platform, &connected).await;

    let all = get(&server, Who::Platform, "/v1/events").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["object"], "list");
    assert_eq!(all.body["url"], "/v1/events");
    assert_eq!(all.body["has_more"], false);
    let events = all.body["data"].as_array().cloned().unwrap_or_default();
    let types: Vec<&str> = events
        .iter()
        .map(|event| event["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        types,
        [
            "file.created",
            "account.updated",
            "account.updated",
            "account.updated"
        ]
    );
    let id = |index: usize| events[index]["id"].as_str().unwrap_or_default().to_owned();
    let created: Vec<i64> = events
        .iter()
        .map(|event| event["created"].as_i64().unwrap_or_default())
        .collect();
    let (first, last) = (created[3], created[0]);
    let ids_where = |keep: &dyn Fn(i64) -> bool| -> Vec<String> {
        (0..events.len())
            .filter(|index| keep(created[*index]))
            .map(id)
            .collect()
    };
    let every: Vec<String> = (0..events.len()).map(id).collect();

    // (query, ids expected, has_more)
    #[rustfmt::skip]
    let cases = [
        ("type=file.created".to_owned(), vec![id(0)], false),
        ("type=account.updated".to_owned(), vec![id(1), id(2), id(3)], false),
        ("types[]=account.updated&types[]=file.created".to_owned(), every.clone(), false),
        ("types[]=customer.created".to_owned(), vec![], false),
        (format!("created[gte]={first}"), every.clone(), false),
        (format!("created[lt]={first}"), vec![], false),
        (format!("created[gt]={last}"), vec![], false),
        (format!("created[lte]={last}"), every.clone(), false),
        (format!("created={first}"), ids_where(&|at| at == first), false),
        (format!("created[gte]={first}&created[lte]={last}&type=file.created"), vec![id(0)], false),
        ("limit=2".to_owned(), vec![id(0), id(1)], true),
        (format!("limit=2&starting_after={}", id(1)), vec![id(2), id(3)], false),
        (format!("limit=2&ending_before={}", id(2)), vec![id(0), id(1)], false),
        (format!("type=account.updated&limit=1&starting_after={}", id(1)), vec![id(2)], true),
    ];
    for (query, expected, has_more) in &cases {
        let reply = get(&server, Who::Platform, &format!("/v1/events?{query}")).await;

        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        assert_eq!(&ids(&reply.body), expected, "{query}");
        assert_eq!(reply.body["has_more"], *has_more, "{query}");
    }

    // (query, refused param or "" when none is named)
    #[rustfmt::skip]
    let refused = [
        ("colour=blue", "colour"),
        ("created[between]=1", "created[between]"),
        ("created[gte]=yesterday", "created[gte]"),
        ("type=account.updated&types[]=file.created", ""),
        ("limit=0", "limit"),
    ];
    for (query, param) in refused {
        let reply = get(&server, Who::Platform, &format!("/v1/events?{query}")).await;

        let error = reply.error(400);
        if !param.is_empty() {
            assert_eq!(error["param"], param, "{query}: {error}");
        }
    }

    let shop = get(&server, Who::Connected(&connected), "/v1/events").await;
    assert_eq!(
        shop.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        shop.body
    );
    let shop_event = ids(&shop.body).remove(0);
    let from_platform = get(&server, Who::Platform, &format!("/v1/events/{shop_event}")).await;
    from_platform.error(404);
    let unknown = get(
        &server,
        Who::Platform,
        "/v1/events/evt_doesnotexist000000000000",
    )
    .await;
    assert_eq!(unknown.error(404)["code"], "resource_missing");
    let live = get(&server, Who::Live, "/v1/events").await;
    assert_eq!(
        live.body["data"],
        json!([]),
        "test events are not live ones"
    );
}

#[tokio::test]
async fn resend_delivers_an_event_again() {
    let server = quick_server().await;
    let first = Receiver::start(Vec::new()).await;
    let second = Receiver::start(Vec::new()).await;
    let first_endpoint = create_endpoint(&server, Who::Platform, &first.url(), &["*"], false).await;
    let second_endpoint =
        create_endpoint(&server, Who::Platform, &second.url(), &["*"], false).await;
    touch(&server, Who::Platform, &server.platform_id).await;
    let event_id = first.wait_for(1).await[0].event_id();
    second.wait_for(1).await;
    let resend_path = format!("/v1/events/{event_id}/resend");

    let resent = post(&server, Who::Platform, &resend_path, &[]).await;

    assert_eq!(resent.status, 200, "{}", resent.body);
    assert_eq!(resent.body["id"], event_id.as_str());
    for receiver in [&first, &second] {
        let received = receiver.wait_for(2).await;
        assert!(received
            .iter()
            .all(|delivery| delivery.event_id() == event_id));
    }
    let only_first = post(
        &server,
        Who::Platform,
        &resend_path,
        &[("webhook_endpoint", &first_endpoint.id)],
    )
    .await;
    assert_eq!(only_first.status, 200, "{}", only_first.body);
    let received = first.wait_for(3).await;
    assert_eq!(received[2].event_id(), event_id);
    assert!(signed_by(
        received[2].header("stripe-signature"),
        &received[2].body,
        &first_endpoint.secret
    ));
    wait_for_attempts(&server, Who::Platform, &first_endpoint.id, 3).await;
    wait_until_jobs_finished(&server).await;
    assert_eq!(
        second.count(),
        2,
        "a resend to one endpoint goes to it alone"
    );
    assert_eq!(
        attempts(&server, Who::Platform, &second_endpoint.id)
            .await
            .len(),
        2
    );
    assert_eq!(
        event(&server, Who::Platform, &event_id).await["pending_webhooks"],
        0
    );

    let connected = server.connected_account("Shop").await;
    let shop_endpoint = create_endpoint(
        &server,
        Who::Connected(&connected),
        "https://hooks.example.com/s",
        &["*"],
        false,
    )
    .await;
    #[rustfmt::skip]
    let missing = [
        (resend_path.clone(), "we_doesnotexist000000000000".to_owned()),
        (resend_path.clone(), shop_endpoint.id.clone()),
        ("/v1/events/evt_doesnotexist000000000000/resend".to_owned(), first_endpoint.id.clone()),
    ];
    for (path, endpoint_id) in missing {
        let reply = post(
            &server,
            Who::Platform,
            &path,
            &[("webhook_endpoint", &endpoint_id)],
        )
        .await;

        assert_eq!(
            reply.error(404)["code"],
            "resource_missing",
            "{path} to {endpoint_id}"
        );
    }
}

// ---------------------------------------------------------------------------
// 8. Outbound safety
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_live_endpoint_whose_name_resolves_to_loopback_is_never_contacted() {
    let server = quick_server().await;
    let receiver = Receiver::start(Vec::new()).await;
    let url = format!("http://localhost:{}/hooks", receiver.addr.port());
    let live_endpoint = create_endpoint(&server, Who::Live, &url, &["*"], false).await;
    let test_endpoint = create_endpoint(&server, Who::Platform, &url, &["*"], false).await;

    touch(&server, Who::Live, &server.platform_id).await;
    let refused = wait_for_attempts(&server, Who::Live, &live_endpoint.id, 2).await;
    touch(&server, Who::Platform, &server.platform_id).await;
    let allowed = receiver.wait_for(1).await;

    for attempt in &refused {
        assert!(attempt["status_code"].is_null(), "{attempt}");
        assert_eq!(attempt["succeeded"], false);
        let error = attempt["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("127.0.0.1") || error.contains("::1"),
            "names the address: {attempt}"
        );
    }
    let test_event = allowed[0].json();
    assert_eq!(test_event["livemode"], false, "sandbox may reach loopback");
    wait_until_delivered(&server, Who::Platform, &allowed[0].event_id()).await;
    assert_eq!(
        attempts(&server, Who::Platform, &test_endpoint.id)
            .await
            .len(),
        1
    );
    assert!(
        receiver
            .received()
            .iter()
            .all(|delivery| delivery.json()["livemode"] == false),
        "the live event never reached the receiver"
    );
}
