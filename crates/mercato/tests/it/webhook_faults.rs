//! Webhook delivery under crashes and sharing: kill -9 in the middle of
//! delivery, two servers on one database, a receiver that is down across a
//! restart. Every committed event must reach the endpoint at least once.
//!
//! The crash tests run the real `mercato` binary as a child process and send
//! it SIGKILL, so nothing gets a chance to clean up; a second process then
//! starts on the same database and data directory. The two-server test runs
//! both servers in this process, each with its own pool, writer turn and
//! data directory, sharing only the database and the sealing key, which is
//! what two processes look like to the store. Events are committed
//! through the store directly (`events::record` in a write transaction, the
//! path every API handler takes), which is much faster than 10,000 API
//! calls. A fake receiver in this process counts what arrives, checks every
//! signature, and tracks how many deliveries of one event are in flight at
//! the same moment.
//!
//! After a crash, a delivery that was in flight stays leased until its lease
//! runs out (the delivery timeout plus a fixed 30 s margin), so these tests
//! take at least that long.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use mercato::server;
use mercato_api::observe::API_VERSION;
use mercato_core::ids::{random_token, AccountId};
use mercato_core::time::now_unix;
use mercato_core::Config;
use mercato_events::signing;
use mercato_store::events::{self, NewEvent, RequestInfo};
use mercato_store::Db;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::support::{serde_urlencoded_pairs, Fixture, Reply};

/// The key that seals endpoint secrets, shared by every server of a test
/// (32 bytes, 0 to 31, in base64).
const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Events per write transaction when committing many.
const BATCH: usize = 500;
/// The longest a test waits for the deliveries it expects.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(120);

/// What the fake receiver has seen so far.
#[derive(Default)]
struct Seen {
    /// Completed deliveries (answered 200) per event id.
    delivered: HashMap<String, u32>,
    /// Deliveries of each event id being received right now.
    in_flight: HashMap<String, u32>,
    /// The most deliveries of one event id ever received at the same moment.
    most_of_one_at_once: u32,
    /// Deliveries of any event being received right now, and the most ever.
    all_in_flight: u32,
    most_at_once: u32,
    bad_signatures: u32,
}

impl Seen {
    fn start(&mut self, event_id: &str) {
        let now = self.in_flight.entry(event_id.to_owned()).or_default();
        *now += 1;
        self.most_of_one_at_once = self.most_of_one_at_once.max(*now);
        self.all_in_flight += 1;
        self.most_at_once = self.most_at_once.max(self.all_in_flight);
    }

    fn end(&mut self, event_id: &str) {
        if let Some(now) = self.in_flight.get_mut(event_id) {
            *now -= 1;
        }
        self.all_in_flight -= 1;
    }

    fn summary(&self) -> Summary {
        Summary {
            duplicates: self.delivered.values().map(|count| count - 1).sum(),
            most_of_one_at_once: self.most_of_one_at_once,
            most_at_once: self.most_at_once,
            bad_signatures: self.bad_signatures,
        }
    }
}

/// The receiver's counts at one moment.
#[derive(Clone, Copy, Debug)]
struct Summary {
    /// Deliveries beyond the first of each event.
    duplicates: u32,
    most_of_one_at_once: u32,
    most_at_once: u32,
    bad_signatures: u32,
}

struct ReceiverState {
    /// The endpoint's signing secret, known once the endpoint exists.
    secret: OnceLock<String>,
    /// How long each delivery is held before the answer.
    hold: Duration,
    seen: Mutex<Seen>,
}

impl ReceiverState {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Ends the in-flight count of one delivery even when the server hangs up
/// (and the handler is dropped) before the answer.
struct InFlight<'a> {
    state: &'a ReceiverState,
    event_id: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.state.seen().end(&self.event_id);
    }
}

/// A webhook receiver on a local port that answers 200 after `hold`.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    task: JoinHandle<()>,
}

impl Receiver {
    async fn start(hold: Duration) -> Receiver {
        Self::start_at("127.0.0.1:0".parse().expect("address"), hold).await
    }

    async fn start_at(addr: SocketAddr, hold: Duration) -> Receiver {
        let state = Arc::new(ReceiverState {
            secret: OnceLock::new(),
            hold,
            seen: Mutex::new(Seen::default()),
        });
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("receiver binds");
        let addr = listener.local_addr().expect("receiver address");
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            state,
            task,
        }
    }

    /// Checks deliveries against `secret` from now on.
    fn expect_secret(&self, secret: &str) {
        self.state.secret.set(secret.to_owned()).ok();
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.state.seen()
    }

    fn summary(&self) -> Summary {
        self.seen().summary()
    }

    fn distinct(&self) -> usize {
        self.seen().delivered.len()
    }

    /// How many of `ids` have not arrived yet.
    fn missing(&self, ids: &[String]) -> usize {
        let seen = self.seen();
        ids.iter()
            .filter(|id| !seen.delivered.contains_key(*id))
            .count()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let event_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|event| event["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let signed = state
        .secret
        .get()
        .is_some_and(|secret| signing::verify(signature, &body, secret, now_unix(), 300).is_ok());

    state.seen().start(&event_id);
    let in_flight = InFlight {
        state: &state,
        event_id,
    };
    tokio::time::sleep(state.hold).await;

    let mut seen = state.seen();
    if !signed {
        seen.bad_signatures += 1;
    }
    *seen
        .delivered
        .entry(in_flight.event_id.clone())
        .or_default() += 1;
    drop(seen);
    drop(in_flight);
    StatusCode::OK
}

/// A free local port, for a receiver that is down until the test starts it.
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// The API of a running server, as the platform sees it.
struct Api {
    base: String,
    test_key: String,
    client: Client,
}

impl Api {
    async fn send(&self, method: Method, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.test_key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded_pairs(pairs))
            .send()
            .await
            .expect("request sent");
        Reply::read(response).await
    }

    async fn platform_id(&self) -> AccountId {
        let reply = self.send(Method::GET, "/v1/account", &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        AccountId::from_stored(reply.body["id"].as_str().expect("account id").to_owned())
    }

    /// Subscribes `url` to every event; returns the endpoint id and secret.
    async fn create_endpoint(&self, url: &str) -> (String, String) {
        let pairs = [("url", url), ("enabled_events[]", "*")];
        let reply = self
            .send(Method::POST, "/v1/webhook_endpoints", &pairs)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let field = |name: &str| reply.body[name].as_str().expect(name).to_owned();
        (field("id"), field("secret"))
    }

    /// Asserts that each of `ids` reads back with `pending_webhooks: 0`.
    async fn assert_none_pending(&self, ids: &[&String]) {
        for id in ids {
            let reply = self
                .send(Method::GET, &format!("/v1/events/{id}"), &[])
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.body["pending_webhooks"], 0, "{}", reply.body);
        }
    }
}

/// `mercato serve` as a child process.
struct ServerProcess {
    child: Child,
    api: Api,
}

impl ServerProcess {
    /// Starts the binary on the fixture's database and data directory, with
    /// short retry delays, and waits until it listens.
    async fn start(fixture: &Fixture, test_key: &str) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mercato"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(fixture.dir.path().join("data"))
            .args(["--database-url", &fixture.database_url])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, _) in std::env::vars() {
            if name.starts_with("MERCATO_") {
                command.env_remove(name);
            }
        }
        command.envs([
            ("MERCATO_BOOTSTRAP_TEST_KEY", test_key),
            ("MERCATO_SECRET_KEY", SECRET_KEY),
            ("MERCATO_LOG_LEVEL", "warn"),
            ("MERCATO_DATABASE_MAX_CONNECTIONS", "8"),
            ("MERCATO_WEBHOOK_TIMEOUT_SECONDS", "2"),
            ("MERCATO_WEBHOOK_SANDBOX_RETRY_BASE_MS", "100"),
            ("MERCATO_WEBHOOK_RETRY_MAX_DELAY_MS", "1000"),
            ("MERCATO_WEBHOOK_SANDBOX_MAX_ATTEMPTS", "1000"),
            ("MERCATO_JOB_POLL_INTERVAL_MS", "50"),
        ]);
        let mut child = command.spawn().expect("mercato starts");
        let base = tokio::time::timeout(Duration::from_secs(60), listening_base(&mut child))
            .await
            .expect("mercato listens within a minute");
        ServerProcess {
            child,
            api: Api {
                base,
                test_key: test_key.to_owned(),
                client: Client::new(),
            },
        }
    }

    /// Sends SIGKILL and reaps the process.
    async fn kill_9(mut self) {
        self.child.start_kill().expect("SIGKILL sent");
        self.child.wait().await.expect("process reaped");
    }
}

/// Reads the child's standard output up to its `Listening on` line, then
/// keeps draining it in the background.
async fn listening_base(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.expect("read stdout") {
        if let Some(base) = line.strip_prefix("Listening on ") {
            let base = base.trim().to_owned();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return base;
        }
    }
    panic!("mercato exited before listening");
}

/// Commits `count` events of the platform account in transactions of
/// [`BATCH`]; returns their ids in order.
///
/// A batch that fails is tried again for up to a minute. On SQLite the
/// server is another writer on the same file, and `events::record` reads
/// (the subscribed endpoints) before it writes, in a deferred transaction:
/// when the server holds the write lock at that moment, or committed since
/// the read, SQLite refuses the upgrade at once (`SQLITE_BUSY`,
/// `SQLITE_BUSY_SNAPSHOT`) instead of waiting out `busy_timeout`.
async fn commit_events(db: &Db, account: &AccountId, count: usize) -> Vec<String> {
    let started = Instant::now();
    let mut ids = Vec::with_capacity(count);
    let mut refused = 0;
    while ids.len() < count {
        let size = BATCH.min(count - ids.len());
        match commit_batch(db, account, ids.len(), size).await {
            Ok(batch) => ids.extend(batch),
            Err(error) => {
                refused += 1;
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "batches keep failing: {error:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    if refused > 0 {
        eprintln!("{refused} batches were refused by the database and tried again");
    }
    ids
}

async fn commit_batch(
    db: &Db,
    account: &AccountId,
    first: usize,
    size: usize,
) -> Result<Vec<String>, mercato_store::StoreError> {
    let mut tx = db.write().await?;
    let mut ids = Vec::with_capacity(size);
    for index in first..first + size {
        let event = NewEvent {
            account_id: account.clone(),
            platform_id: None,
            livemode: false,
            event_type: "account.updated".to_owned(),
            object: json!({
                "id": account.as_str(),
                "object": "account",
                "metadata": { "index": index.to_string() },
            }),
            previous_attributes: Some(json!({ "metadata": {} })),
            request: RequestInfo::default(),
        };
        ids.push(
            events::record(&mut tx, event, API_VERSION)
                .await?
                .id
                .to_string(),
        );
    }
    tx.commit().await?;
    Ok(ids)
}

/// Events still waiting for an endpoint to acknowledge them.
async fn pending_events(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE pending_webhooks > 0")
        .fetch_one(db.pool())
        .await
        .expect("count pending events")
}

/// Waits until `ready` holds, checking every 50 ms; panics with `what`
/// after `deadline`.
async fn wait_until<F, Fut>(deadline: Duration, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !ready().await {
        assert!(
            started.elapsed() < deadline,
            "waited {deadline:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every one of `ids` arrived and no event is left pending.
async fn wait_for_all(receiver: &Receiver, db: &Db, ids: &[String]) {
    wait_until(DELIVERY_DEADLINE, "every event to arrive", || async {
        receiver.missing(ids) == 0
    })
    .await;
    wait_until(DELIVERY_DEADLINE, "pending_webhooks to reach 0", || async {
        pending_events(db).await == 0
    })
    .await;
}

/// Every hundredth id, and the last.
fn sample(ids: &[String]) -> Vec<&String> {
    ids.iter().step_by(100).chain(ids.last()).collect()
}

fn test_key() -> String {
    format!("sk_test_{}", random_token(24))
}

/// The issue asks for 10,000 events. With a debug binary on two cores the
/// test takes 45 to 65 s per backend; about 32 s of it is the lease of the
/// deliveries the killed process had in flight (the 2 s delivery timeout set
/// below plus the worker's fixed 30 s margin), which the rest overlaps.
const KILLED_EVENTS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_delivery_then_restart_delivers_every_event() {
    let started = Instant::now();
    let fixture = Fixture::new().await;
    let key = test_key();
    let receiver = Receiver::start(Duration::from_millis(2)).await;
    let first = ServerProcess::start(&fixture, &key).await;
    let (_, secret) = first.api.create_endpoint(&receiver.url).await;
    receiver.expect_secret(&secret);
    let platform = first.api.platform_id().await;
    let db = Db::connect(&fixture.database_url, 4)
        .await
        .expect("connect");

    let ids = commit_events(&db, &platform, KILLED_EVENTS).await;
    wait_until(Duration::from_secs(60), "the first deliveries", || async {
        receiver.distinct() >= KILLED_EVENTS / 10
    })
    .await;
    first.kill_9().await;
    let killed_after = started.elapsed();
    let at_kill = receiver.distinct();
    assert!(
        at_kill < KILLED_EVENTS,
        "every event arrived before the kill"
    );

    let second = ServerProcess::start(&fixture, &key).await;
    wait_for_all(&receiver, &db, &ids).await;

    let seen = receiver.summary();
    eprintln!(
        "kill -9 at {killed_after:?}, {at_kill} of {KILLED_EVENTS} events received; \
         all delivered at {:?}; {} duplicate deliveries",
        started.elapsed(),
        seen.duplicates
    );
    assert_eq!(seen.bad_signatures, 0);
    second.api.assert_none_pending(&sample(&ids)).await;
    second.kill_9().await;
}

/// A server of the pair, in this process.
fn shared_config(fixture: &Fixture, data_dir: &str, key: &str) -> Config {
    Config {
        data_dir: fixture.dir.path().join(data_dir),
        bootstrap_test_key: Some(key.to_owned()),
        bootstrap_live_key: None,
        secret_key: Some(SECRET_KEY.to_owned()),
        webhook_endpoint_concurrency: 2,
        job_poll_interval_ms: 20,
        ..fixture.config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_never_send_one_event_twice_at_once() {
    const EVENTS: usize = 2_000;
    let started = Instant::now();
    let fixture = Fixture::new().await;
    let key = test_key();
    let receiver = Receiver::start(Duration::from_millis(5)).await;
    let first = server::start(shared_config(&fixture, "data-a", &key))
        .await
        .expect("first server starts");
    let second = server::start(shared_config(&fixture, "data-b", &key))
        .await
        .expect("second server starts");
    let api = Api {
        base: format!("http://{}", first.addr),
        test_key: key,
        client: Client::new(),
    };
    let (_, secret) = api.create_endpoint(&receiver.url).await;
    receiver.expect_secret(&secret);

    let ids = commit_events(&first.db, &api.platform_id().await, EVENTS).await;
    wait_for_all(&receiver, &first.db, &ids).await;

    let seen = receiver.summary();
    eprintln!(
        "{EVENTS} events: {} duplicate deliveries, at most {} deliveries at once; {:?}",
        seen.duplicates,
        seen.most_at_once,
        started.elapsed()
    );
    assert_eq!(
        seen.most_of_one_at_once, 1,
        "an event was sent twice at once"
    );
    assert!(
        seen.most_at_once > 2,
        "one server alone allows 2 deliveries at once; both should have sent"
    );
    assert_eq!(seen.bad_signatures, 0);
    api.assert_none_pending(&sample(&ids)).await;
    second.shutdown().await.expect("second server stops");
    first.shutdown().await.expect("first server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_across_a_kill_9_gets_every_event_when_back() {
    const EVENTS: usize = 100;
    let started = Instant::now();
    let fixture = Fixture::new().await;
    let key = test_key();
    let receiver_addr = free_port();
    let first = ServerProcess::start(&fixture, &key).await;
    let (endpoint_id, secret) = first
        .api
        .create_endpoint(&format!("http://{receiver_addr}/hook"))
        .await;
    let db = Db::connect(&fixture.database_url, 4)
        .await
        .expect("connect");

    let ids = commit_events(&db, &first.api.platform_id().await, EVENTS).await;
    wait_until(
        Duration::from_secs(60),
        "a failed attempt per event",
        || async { failed_events(&db).await == EVENTS as i64 },
    )
    .await;
    first.kill_9().await;

    let failed_before_restart = failed_attempts(&db).await;
    let second = ServerProcess::start(&fixture, &key).await;
    wait_until(
        Duration::from_secs(60),
        "the restarted server to retry",
        || async { failed_attempts(&db).await > failed_before_restart },
    )
    .await;
    let receiver = Receiver::start_at(receiver_addr, Duration::ZERO).await;
    receiver.expect_secret(&secret);
    wait_for_all(&receiver, &db, &ids).await;

    eprintln!(
        "{EVENTS} events after {} failed attempts; {:?}",
        failed_attempts(&db).await,
        started.elapsed()
    );
    assert_eq!(receiver.summary().bad_signatures, 0);
    second.api.assert_none_pending(&sample(&ids)).await;
    let error: String = sqlx::query_scalar(
        "SELECT error FROM webhook_attempts WHERE endpoint_id = $1 AND succeeded = 0 LIMIT 1",
    )
    .bind(endpoint_id)
    .fetch_one(db.pool())
    .await
    .expect("a failed attempt");
    assert!(error.starts_with("could not connect"), "{error}");
    second.kill_9().await;
}

/// Distinct events with at least one failed attempt.
async fn failed_events(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(DISTINCT event_id) FROM webhook_attempts WHERE succeeded = 0")
        .fetch_one(db.pool())
        .await
        .expect("count failed events")
}

async fn failed_attempts(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_attempts WHERE succeeded = 0")
        .fetch_one(db.pool())
        .await
        .expect("count failed attempts")
}
