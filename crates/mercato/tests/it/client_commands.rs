//! The client commands `mercato listen` and `mercato trigger` against a running server.
//!
//! `listen` runs in-process (its lines captured from a channel) and forwards
//! to a fake webhook receiver on port 0; `trigger` is checked through the
//! events it leaves in `GET /v1/events`. A few tests run the built binary as
//! a user would.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream;
use mercato::client::listen::{self, ListenOptions};
use mercato::client::trigger::{self, TriggerOptions};
use mercato::keys_command::{self, CreateKey};
use mercato_core::time::now_unix;
use mercato_events::signing;
use mercato_store::keys::KeyKind;
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::ChildStdout;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::support::{Reply, TestServer};

/// The longest any expected line or request may take to show up.
const PATIENCE: Duration = Duration::from_secs(20);
/// How old a signature `verify` accepts, as the official SDKs do by default.
const TOLERANCE_SECONDS: i64 = 300;
const MERCATO: &str = env!("CARGO_BIN_EXE_mercato");

/// One request the fake receiver got.
#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the forwarded body is JSON")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

/// A webhook receiver on 127.0.0.1:0 that answers 200 to `POST /webhook`.
struct Receiver {
    url: String,
    requests: mpsc::UnboundedReceiver<Received>,
    _task: JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        let (sender, requests) = mpsc::unbounded_channel();
        let app = Router::new()
            .route("/webhook", post(record_request))
            .with_state(sender);
        let (url, task) = serve(app).await;
        Receiver {
            url: format!("{url}/webhook"),
            requests,
            _task: task,
        }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.requests.recv())
            .await
            .expect("a forwarded event in time")
            .expect("the receiver is running")
    }
}

async fn record_request(
    State(sender): State<mpsc::UnboundedSender<Received>>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    sender.send(Received { headers, body }).ok();
    "ok"
}

/// Serves `app` on 127.0.0.1:0; its base URL and task.
async fn serve(app: Router) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (format!("http://{address}"), task)
}

/// A URL on which nothing listens.
async fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{address}/webhook")
}

/// `listen` running in-process, its printed lines arriving on a channel.
struct Listening {
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Listening {
    fn start(options: ListenOptions) -> Listening {
        let (line_sender, lines) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let output = move |line: String| {
            line_sender.send(line).ok();
        };
        let task = tokio::spawn(listen::listen(options, output, async move {
            stopped.await.ok();
        }));
        Listening {
            lines,
            seen: Vec::new(),
            stop,
            task,
        }
    }

    /// Starts and waits for the `Ready!` line; returns the secret in it.
    async fn ready(options: ListenOptions) -> (Listening, String) {
        let mut listening = Listening::start(options);
        let ready = listening.line_containing("Ready!").await;
        (listening, secret_in(&ready))
    }

    /// Waits for the next line containing `text`.
    async fn line_containing(&mut self, text: &str) -> String {
        let waited = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if line.contains(text) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match waited {
            Ok(Some(line)) => line,
            _ => panic!(
                "no line containing {text:?}; lines so far: {:#?}",
                self.seen
            ),
        }
    }

    /// Stops listening; every line printed.
    async fn stop(mut self) -> Vec<String> {
        self.stop.send(()).ok();
        let result = self.task.await.expect("listen does not panic");
        result.expect("listen stops cleanly");
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen
    }
}

fn listen_options(server: &TestServer, forward_to: &str) -> ListenOptions {
    ListenOptions {
        api_base: server.base.clone(),
        api_key: server.test_key.clone(),
        forward_to: forward_to.to_owned(),
        events: Vec::new(),
        connect: true,
    }
}

/// The `whsec_...` word of a `Ready!` line.
fn secret_in(line: &str) -> String {
    line.split_whitespace()
        .find(|word| word.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("no secret in {line:?}"))
        .to_owned()
}

/// Changes a connected account's metadata, which emits `account.updated`.
async fn update_account(server: &TestServer, account: &str, value: &str) {
    let path = format!("/v1/accounts/{account}");
    let reply = server.post(&path, &[("metadata[note]", value)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Uploads a small CSV as `account`, which emits `file.created`.
async fn upload_file_as(server: &TestServer, account: &str) -> String {
    let part = reqwest::multipart::Part::bytes(b"id,title\nsku-9,Bowl\n".to_vec())
        .file_name("catalog.csv")
        .mime_str("text/csv")
        .expect("content type");
    let form = reqwest::multipart::Form::new()
        .text("purpose", "data_management_manual_upload")
        .part("file", part);
    let request = server
        .request(Method::POST, "/v1/files")
        .header("stripe-account", account);
    let reply = Reply::read(request.multipart(form).send().await.expect("sent")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["id"].as_str().expect("file id").to_owned()
}

/// The events of `account` (the platform when `None`) of one type.
async fn events_of(server: &TestServer, account: Option<&str>, event_type: &str) -> Vec<Value> {
    let mut request = server
        .request(Method::GET, "/v1/events")
        .query(&[("type", event_type)]);
    if let Some(account) = account {
        request = request.header("stripe-account", account);
    }
    let reply = Reply::read(request.send().await.expect("sent")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].as_array().cloned().unwrap_or_default()
}

fn trigger_options(server: &TestServer, stripe_account: Option<&str>) -> TriggerOptions {
    TriggerOptions {
        api_base: server.base.clone(),
        api_key: server.test_key.clone(),
        stripe_account: stripe_account.map(str::to_owned),
    }
}

#[tokio::test]
async fn listen_prints_the_same_secret_for_a_key_and_another_for_another_key() {
    let server = TestServer::start().await;
    let request = CreateKey {
        account: None,
        livemode: false,
        kind: KeyKind::Secret,
    };
    let (_, other_key) = keys_command::create(server.db(), &request)
        .await
        .expect("a second test key");
    let forward_to = closed_url().await;
    let mut secrets = Vec::new();

    for key in [&server.test_key, &server.test_key, &other_key] {
        let options = ListenOptions {
            api_key: key.clone(),
            ..listen_options(&server, &forward_to)
        };
        let (listening, secret) = Listening::ready(options).await;
        listening.stop().await;
        secrets.push(secret);
    }

    assert!(secrets[0].starts_with("whsec_"), "{secrets:?}");
    assert_eq!(secrets[0], secrets[1]);
    assert_ne!(secrets[0], secrets[2]);
    assert_eq!(secrets[0], listen::signing_secret(&server.test_key));
}

#[tokio::test]
async fn listen_forwards_a_connected_account_event_signed_with_the_printed_secret() {
    let server = TestServer::start().await;
    let account = server.connected_account("Listened Shop").await;
    let mut receiver = Receiver::start().await;
    let (mut listening, secret) = Listening::ready(listen_options(&server, &receiver.url)).await;

    update_account(&server, &account, "forwarded").await;
    let received = receiver.next().await;

    let event = received.event();
    assert_eq!(event["type"], "account.updated", "{event}");
    assert_eq!(event["account"], account.as_str());
    assert_eq!(event["data"]["object"]["metadata"]["note"], "forwarded");
    assert_eq!(received.header("content-type"), "application/json");
    let signature = received.header("stripe-signature");
    let verified = signing::verify(
        signature,
        &received.body,
        &secret,
        now_unix(),
        TOLERANCE_SECONDS,
    );
    assert_eq!(verified, Ok(()), "{signature}");
    let event_id = event["id"].as_str().expect("event id");
    let sent = listening.line_containing("-->").await;
    assert!(
        sent.ends_with(&format!("--> account.updated [{event_id}]")),
        "{sent}"
    );
    let answered = listening.line_containing("<--").await;
    assert!(
        answered.ends_with(&format!("<-- [200] POST {} [{event_id}]", receiver.url)),
        "{answered}"
    );
    listening.stop().await;
}

#[tokio::test]
async fn listen_with_events_forwards_only_those_types() {
    let server = TestServer::start().await;
    let account = server.connected_account("Filtered Shop").await;
    let mut receiver = Receiver::start().await;
    let options = ListenOptions {
        events: vec!["file.created".to_owned()],
        ..listen_options(&server, &receiver.url)
    };
    let (mut listening, _) = Listening::ready(options).await;

    update_account(&server, &account, "filtered out").await;
    let file_id = upload_file_as(&server, &account).await;
    let first = receiver.next().await.event();
    listening.line_containing("<-- [200]").await;
    let lines = listening.stop().await;

    assert_eq!(first["type"], "file.created", "{first}");
    assert_eq!(first["data"]["object"]["id"], file_id.as_str());
    assert!(receiver.requests.try_recv().is_err());
    assert!(
        !lines.iter().any(|line| line.contains("account.updated")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn listen_reports_a_receiver_that_is_down_and_keeps_listening() {
    let server = TestServer::start().await;
    let account = server.connected_account("Unreachable Shop").await;
    let forward_to = closed_url().await;
    let (mut listening, _) = Listening::ready(listen_options(&server, &forward_to)).await;

    update_account(&server, &account, "first").await;
    let first = listening.line_containing("<--").await;
    update_account(&server, &account, "second").await;
    let second = listening.line_containing("<--").await;

    for line in [&first, &second] {
        assert!(
            line.contains(&format!("<-- [ERR] POST {forward_to}")),
            "{line}"
        );
        assert!(line.ends_with("connection refused"), "{line}");
    }
    assert_ne!(first, second);
    listening.stop().await;
}

#[tokio::test]
async fn listen_stops_with_a_clear_error_when_the_key_is_refused() {
    let server = TestServer::start().await;
    let options = ListenOptions {
        api_key: "sk_test_not_a_real_key".to_owned(),
        ..listen_options(&server, &closed_url().await)
    };

    let listening = Listening::start(options);
    let result = tokio::time::timeout(PATIENCE, listening.task)
        .await
        .expect("listen gives up at once")
        .expect("listen does not panic");

    let message = format!("{:#}", result.expect_err("a refused key is fatal"));
    assert!(message.contains("refused the API key (401"), "{message}");
}

/// How the fake stream server answers: the `Last-Event-ID` of each
/// connection, in order.
type SeenResumes = Arc<Mutex<Vec<Option<String>>>>;

/// A stand-in for `/v1/events/stream` that sends event 5 and hangs up on
/// the first connection, and sends event 6 and stays open afterwards.
async fn flaky_stream(State(resumes): State<SeenResumes>, headers: HeaderMap) -> Response {
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let first_connection = {
        let mut resumes = resumes.lock().expect("lock");
        resumes.push(resume);
        resumes.len() == 1
    };

    let (seq, event_id) = if first_connection {
        (5, "evt_before_drop")
    } else {
        (6, "evt_after_drop")
    };
    let message = format!(
        "id: {seq}\nevent: event\ndata: {{\"id\":\"{event_id}\",\"type\":\"file.created\"}}\n\n"
    );
    let sent = stream::iter([Ok::<_, std::io::Error>(message)]);
    let body = if first_connection {
        Body::from_stream(sent)
    } else {
        Body::from_stream(futures_util::StreamExt::chain(sent, stream::pending()))
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .expect("response")
}

#[tokio::test]
async fn listen_reconnects_after_a_drop_and_resumes_after_the_last_event() {
    let resumes = SeenResumes::default();
    let app = Router::new()
        .route("/v1/events/stream", get(flaky_stream))
        .with_state(resumes.clone());
    let (api_base, _stream_task) = serve(app).await;
    let mut receiver = Receiver::start().await;
    let options = ListenOptions {
        api_base,
        api_key: "sk_test_flaky".to_owned(),
        forward_to: receiver.url.clone(),
        events: Vec::new(),
        connect: false,
    };
    let (mut listening, _) = Listening::ready(options).await;

    let before = receiver.next().await.event();
    let down = listening.line_containing("reconnecting in").await;
    listening.line_containing("Reconnected").await;
    let after = receiver.next().await.event();
    listening.stop().await;

    assert_eq!(before["id"], "evt_before_drop");
    assert!(down.ends_with("reconnecting in 1s"), "{down}");
    assert_eq!(after["id"], "evt_after_drop");
    let resumes = resumes.lock().expect("lock").clone();
    assert_eq!(resumes, [None, Some("5".to_owned())]);
}

#[tokio::test]
async fn trigger_account_updated_updates_a_new_connected_account() {
    let server = TestServer::start().await;

    let fired = trigger::trigger(&trigger_options(&server, None), "account.updated")
        .await
        .expect("trigger succeeds");

    let account = fired.account.clone().expect("the event's account");
    assert!(account.starts_with("acct_"), "{fired:?}");
    assert!(fired.lines()[0].contains(&account), "{fired:?}");
    let events = events_of(&server, Some(&account), "account.updated").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["account"], account.as_str());
    assert_eq!(events[0]["data"]["object"]["id"], account.as_str());
    assert!(fired
        .lines()
        .last()
        .is_some_and(|line| line.contains("account.updated")));
}

#[tokio::test]
async fn trigger_account_updated_with_stripe_account_updates_that_account() {
    let server = TestServer::start().await;
    let account = server.connected_account("Chosen Shop").await;

    let options = trigger_options(&server, Some(&account));
    let fired = trigger::trigger(&options, "account.updated")
        .await
        .expect("trigger succeeds");

    assert_eq!(fired.account.as_deref(), Some(account.as_str()));
    let events = events_of(&server, Some(&account), "account.updated").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let metadata = &events[0]["data"]["object"]["metadata"];
    assert!(metadata["mercato_trigger"].is_string(), "{metadata}");
    let listed = server.get("/v1/accounts").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn trigger_file_created_uploads_for_the_platform_or_the_given_account() {
    let server = TestServer::start().await;
    let account = server.connected_account("Uploading Shop").await;

    let as_account = trigger_options(&server, Some(&account));
    let for_platform = trigger::trigger(&trigger_options(&server, None), "file.created").await;
    let for_account = trigger::trigger(&as_account, "file.created").await;
    let for_account = for_account.expect("trigger succeeds");

    assert_eq!(for_platform.expect("trigger succeeds").account, None);
    assert_eq!(for_account.account.as_deref(), Some(account.as_str()));
    for owner in [None, Some(account.as_str())] {
        let events = events_of(&server, owner, "file.created").await;
        assert_eq!(events.len(), 1, "{owner:?}: {events:?}");
        let file = &events[0]["data"]["object"];
        assert_eq!(file["purpose"], "data_management_manual_upload");
        assert_eq!(file["size"], 19);
    }
}

#[tokio::test]
async fn trigger_refuses_an_unknown_event_and_a_live_key_before_any_call() {
    let server = TestServer::start().await;
    let live = TriggerOptions {
        api_key: server.live_key.clone(),
        ..trigger_options(&server, None)
    };

    let unknown = trigger::trigger(&trigger_options(&server, None), "charge.succeeded").await;
    let refused = trigger::trigger(&live, "account.updated").await;

    let unknown = unknown.expect_err("unknown event").to_string();
    assert!(unknown.contains("\"charge.succeeded\""), "{unknown}");
    assert!(
        unknown.contains("supported events: account.updated, file.created"),
        "{unknown}"
    );
    let refused = refused.expect_err("live key").to_string();
    assert!(refused.contains("not a live key"), "{refused}");
    let listed = server.get("/v1/accounts").await;
    assert_eq!(listed.body["data"], Value::Array(Vec::new()));
}

#[test]
fn the_binary_explains_both_commands() {
    for command in ["listen", "trigger"] {
        let output = std::process::Command::new(MERCATO)
            .args([command, "--help"])
            .output()
            .expect("mercato runs");
        let help = String::from_utf8_lossy(&output.stdout);

        assert!(output.status.success(), "{command}: {output:?}");
        assert!(help.contains("--api-key"), "{help}");
        assert!(help.contains("MERCATO_API_BASE"), "{help}");
    }
    let output = std::process::Command::new(MERCATO)
        .args(["trigger", "--help"])
        .output()
        .expect("mercato runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("file.created"), "{help}");
}

#[tokio::test]
async fn the_binary_triggers_an_event_with_the_key_from_the_environment() {
    let server = TestServer::start().await;

    let output = tokio::process::Command::new(MERCATO)
        .args(["trigger", "account.updated"])
        .env("MERCATO_API_KEY", &server.test_key)
        .env("MERCATO_API_BASE", &server.base)
        .output()
        .await
        .expect("mercato runs");

    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let last = printed.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("Trigger succeeded: account.updated for account acct_"),
        "{printed}"
    );
    let account = last.rsplit(' ').next().unwrap_or_default();
    assert_eq!(
        events_of(&server, Some(account), "account.updated")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_binary_refuses_a_live_key_with_a_clear_message() {
    let server = TestServer::start().await;

    let output = tokio::process::Command::new(MERCATO)
        .args(["trigger", "file.created", "--api-key", &server.live_key])
        .args(["--api-base", &server.base])
        .output()
        .await
        .expect("mercato runs");

    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(errors.contains("sandbox events only"), "{errors}");
}

/// The child's next line of standard output.
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("a line in time")
        .expect("stdout readable")
        .expect("a line before exit")
}

#[tokio::test]
async fn the_binary_listens_forwards_and_stops_on_sigterm() {
    let server = TestServer::start().await;
    let account = server.connected_account("Binary Shop").await;
    let mut receiver = Receiver::start().await;
    let mut child = tokio::process::Command::new(MERCATO)
        .args(["listen", "--connect", "--forward-to", &receiver.url])
        .env("MERCATO_API_KEY", &server.test_key)
        .env("MERCATO_API_BASE", &server.base)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mercato starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();

    let ready = next_line(&mut lines).await;
    update_account(&server, &account, "from the binary").await;
    let received = receiver.next().await;
    let sent = next_line(&mut lines).await;
    let answered = next_line(&mut lines).await;
    let pid = child.id().expect("pid").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("listen exits on SIGTERM")
        .expect("exit status");

    let secret = secret_in(&ready);
    assert_eq!(secret, listen::signing_secret(&server.test_key));
    let signature = received.header("stripe-signature");
    let verified = signing::verify(
        signature,
        &received.body,
        &secret,
        now_unix(),
        TOLERANCE_SECONDS,
    );
    assert_eq!(verified, Ok(()));
    assert!(sent.contains("--> account.updated [evt_"), "{sent}");
    assert!(answered.contains("<-- [200] POST"), "{answered}");
    assert!(killed.success());
    assert!(status.success(), "{status:?}");
}
