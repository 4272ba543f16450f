//! Webhook delivery throughput and latency, end to end: events committed
//! through the store (the outbox path every API handler takes) while the
//! server's delivery worker sends them to a receiver in the same process.
//!
//! Prints, per backend, the events delivered per second from the start of
//! the first commit to the last receipt, and percentiles of the time from
//! each event's commit to its first receipt. As a baseline measured in the
//! same run, a plain reqwest loop sends the same signed bodies to the same
//! receiver with the same number of requests in flight, which shows what the
//! queue costs on top of HTTP.
//!
//! Run through `bench/webhooks.sh`; options:
//! `--events N` (20000), `--batch N` events per transaction (500),
//! `--rate N` events committed per second, 0 for as fast as possible (0),
//! `--concurrency N` and `--endpoint-concurrency N` (the server defaults).
//! SQLite always; PostgreSQL too when `MERCATO_BENCH_DATABASE_URL` names a
//! server where a throwaway database may be created.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use mercato::server::{self, RunningServer};
use mercato_api::observe::API_VERSION;
use mercato_core::ids::{random_token, AccountId};
use mercato_core::time::now_unix;
use mercato_core::Config;
use mercato_events::{render, signing};
use mercato_store::events::{self, Event, NewEvent, RequestInfo};
use serde_json::{json, Value};
use sqlx::Connection;

/// The longest a run waits for its last delivery.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(600);

/// What to measure.
#[derive(Clone, Debug)]
struct Options {
    events: usize,
    batch: usize,
    rate: u64,
    concurrency: usize,
    endpoint_concurrency: usize,
    /// Time each SQL statement and HTTP send of the server, from its tracing.
    profile: bool,
}

impl Options {
    fn parse() -> anyhow::Result<Options> {
        let defaults = Config::default();
        let mut options = Options {
            events: 20_000,
            batch: 500,
            rate: 0,
            concurrency: defaults.webhook_concurrency,
            endpoint_concurrency: defaults.webhook_endpoint_concurrency,
            profile: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => continue,
                "--profile" => {
                    options.profile = true;
                    continue;
                }
                _ => {}
            }
            let value: u64 = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?
                .parse()
                .with_context(|| format!("{arg} needs a number"))?;
            let size = usize::try_from(value)?;
            match arg.as_str() {
                "--events" => options.events = size,
                "--batch" => options.batch = size.max(1),
                "--rate" => options.rate = value,
                "--concurrency" => options.concurrency = size.max(1),
                "--endpoint-concurrency" => options.endpoint_concurrency = size.max(1),
                _ => bail!("unknown option {arg}"),
            }
        }
        Ok(options)
    }

    /// Deliveries to the one endpoint in flight at once.
    fn in_flight(&self) -> usize {
        self.concurrency.min(self.endpoint_concurrency)
    }
}

/// Receipts at the fake receiver: the event id and when it arrived.
struct ReceiverState {
    secret: OnceLock<String>,
    receipts: Mutex<Vec<(String, Instant)>>,
    bad_signatures: AtomicUsize,
}

impl ReceiverState {
    fn receipts(&self) -> std::sync::MutexGuard<'_, Vec<(String, Instant)>> {
        self.receipts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Verifies the signature as a platform would, notes the event id, answers
/// 200 at once.
async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let arrived = Instant::now();
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let signed = state
        .secret
        .get()
        .is_some_and(|secret| signing::verify(signature, &body, secret, now_unix(), 300).is_ok());
    if !signed {
        state.bad_signatures.fetch_add(1, Ordering::Relaxed);
    }
    let event_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|event| event["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    state.receipts().push((event_id, arrived));
    StatusCode::OK
}

async fn start_receiver() -> anyhow::Result<(String, Arc<ReceiverState>)> {
    let state = Arc::new(ReceiverState {
        secret: OnceLock::new(),
        receipts: Mutex::new(Vec::new()),
        bad_signatures: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Ok((url, state))
}

/// Where one run keeps its data.
struct Backend {
    name: &'static str,
    database_url: String,
    /// The server and database to drop a throwaway PostgreSQL database on.
    postgres_admin: Option<(String, String)>,
    dir: tempfile::TempDir,
}

impl Backend {
    fn sqlite() -> anyhow::Result<Backend> {
        let dir = tempfile::tempdir()?;
        Ok(Backend {
            name: "SQLite",
            database_url: format!("sqlite://{}", dir.path().join("mercato.db").display()),
            postgres_admin: None,
            dir,
        })
    }

    async fn postgres(admin_url: &str) -> anyhow::Result<Backend> {
        let name = format!("mercato_bench_{}", random_token(12).to_lowercase());
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let (server, _) = admin_url
            .rsplit_once('/')
            .context("the PostgreSQL URL needs a database path")?;
        Ok(Backend {
            name: "PostgreSQL",
            database_url: format!("{server}/{name}"),
            postgres_admin: Some((admin_url.to_owned(), name)),
            dir: tempfile::tempdir()?,
        })
    }

    async fn drop_database(&self) -> anyhow::Result<()> {
        let Some((admin_url, name)) = &self.postgres_admin else {
            return Ok(());
        };
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        Ok(())
    }

    fn config(&self, options: &Options, test_key: &str) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().expect("a socket address"),
            data_dir: self.dir.path().join("data"),
            database_url: Some(self.database_url.clone()),
            bootstrap_test_key: Some(test_key.to_owned()),
            webhook_concurrency: options.concurrency,
            webhook_endpoint_concurrency: options.endpoint_concurrency,
            ..Config::default()
        }
    }
}

/// What one run measured.
struct Figures {
    delivered_per_second: f64,
    seconds: f64,
    latency_ms: [f64; 4],
    duplicates: usize,
    baseline_per_second: f64,
}

/// Starts a server on `backend`, delivers `options.events` events to a
/// fresh receiver, then runs the baseline against that receiver.
async fn run(
    backend: &Backend,
    options: &Options,
    stages: Option<&profile::Stages>,
) -> anyhow::Result<Figures> {
    let test_key = format!("sk_test_{}", random_token(24));
    let server = server::start(backend.config(options, &test_key)).await?;
    let (url, receiver) = start_receiver().await?;
    let secret = create_endpoint(&server, &test_key, &url).await?;
    receiver.secret.set(secret.clone()).ok();
    let platform = server
        .bootstrapped
        .as_ref()
        .context("a fresh store is bootstrapped")?
        .platform
        .id
        .clone();

    let started = Instant::now();
    let committed = commit_all(&server, &platform, options).await?;
    let last_receipt = wait_for_receipts(&receiver, committed.len()).await?;
    server.shutdown().await?;
    if let Some(stages) = stages {
        let wall = (last_receipt - started).as_secs_f64();
        profile::report(stages, committed.len(), wall);
    }

    let receipts = std::mem::take(&mut *receiver.receipts());
    let seconds = (last_receipt - started).as_secs_f64();
    let figures = Figures {
        delivered_per_second: committed.len() as f64 / seconds,
        seconds,
        latency_ms: latency_percentiles(&committed, &receipts),
        duplicates: receipts.len().saturating_sub(committed.len()),
        baseline_per_second: baseline(&url, &secret, &committed, options.in_flight(), &receiver)
            .await?,
    };
    let bad = receiver.bad_signatures.load(Ordering::Relaxed);
    if bad > 0 {
        bail!("{bad} deliveries carried a bad signature");
    }
    Ok(figures)
}

async fn create_endpoint(
    server: &RunningServer,
    test_key: &str,
    url: &str,
) -> anyhow::Result<String> {
    let reply: Value = reqwest::Client::new()
        .post(format!("http://{}/v1/webhook_endpoints", server.addr))
        .bearer_auth(test_key)
        .form(&[("url", url), ("enabled_events[]", "*")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    reply["secret"]
        .as_str()
        .map(str::to_owned)
        .context("the endpoint's secret")
}

/// An event committed by the benchmark, and when its transaction returned.
struct Committed {
    event: Event,
    at: Instant,
}

/// Commits the events in batches through the server's own store handle, at
/// `options.rate` per second when set.
async fn commit_all(
    server: &RunningServer,
    platform: &AccountId,
    options: &Options,
) -> anyhow::Result<Vec<Committed>> {
    let started = Instant::now();
    let mut committed = Vec::with_capacity(options.events);
    while committed.len() < options.events {
        let size = options.batch.min(options.events - committed.len());
        let mut tx = server.db.write().await?;
        let mut batch = Vec::with_capacity(size);
        for index in committed.len()..committed.len() + size {
            batch.push(events::record(&mut tx, new_event(platform, index), API_VERSION).await?);
        }
        tx.commit().await?;
        let at = Instant::now();
        committed.extend(batch.into_iter().map(|event| Committed { event, at }));

        if options.rate > 0 {
            let due = Duration::from_secs_f64(committed.len() as f64 / options.rate as f64);
            tokio::time::sleep_until((started + due).into()).await;
        }
    }
    Ok(committed)
}

fn new_event(platform: &AccountId, index: usize) -> NewEvent {
    NewEvent {
        account_id: platform.clone(),
        platform_id: None,
        livemode: false,
        event_type: "account.updated".to_owned(),
        object: json!({
            "id": platform.as_str(),
            "object": "account",
            "business_profile": { "name": "Benchmark Goods" },
            "metadata": { "index": index.to_string() },
        }),
        previous_attributes: Some(json!({ "metadata": {} })),
        request: RequestInfo::default(),
    }
}

/// Waits until `count` distinct events have arrived; returns when the last
/// of them did.
async fn wait_for_receipts(receiver: &ReceiverState, count: usize) -> anyhow::Result<Instant> {
    let started = Instant::now();
    loop {
        let (distinct, last) = {
            let receipts = receiver.receipts();
            let distinct = receipts
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<std::collections::HashSet<_>>()
                .len();
            (distinct, receipts.last().map(|(_, at)| *at))
        };
        if let (true, Some(last)) = (distinct >= count, last) {
            return Ok(last);
        }
        if started.elapsed() > DELIVERY_DEADLINE {
            bail!("only {distinct} of {count} events arrived in {DELIVERY_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// p50, p95, p99 and the maximum of commit-to-first-receipt, in ms.
fn latency_percentiles(committed: &[Committed], receipts: &[(String, Instant)]) -> [f64; 4] {
    let mut first_receipt: HashMap<&str, Instant> = HashMap::new();
    for (id, at) in receipts {
        first_receipt.entry(id.as_str()).or_insert(*at);
    }
    let mut latencies: Vec<f64> = committed
        .iter()
        .filter_map(|item| {
            let arrived = first_receipt.get(item.event.id.as_str())?;
            Some(arrived.saturating_duration_since(item.at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let at = |quantile: f64| {
        let index = ((latencies.len() as f64 - 1.0) * quantile).round() as usize;
        latencies.get(index).copied().unwrap_or(f64::NAN)
    };
    [at(0.50), at(0.95), at(0.99), at(1.0)]
}

/// The same signed bodies POSTed by `in_flight` plain reqwest loops; returns
/// requests per second.
async fn baseline(
    url: &str,
    secret: &str,
    committed: &[Committed],
    in_flight: usize,
    receiver: &ReceiverState,
) -> anyhow::Result<f64> {
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        committed
            .iter()
            .map(|item| serde_json::to_vec_pretty(&render::event(&item.event)))
            .collect::<Result<_, _>>()?,
    );
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = Vec::with_capacity(in_flight);
    for _ in 0..in_flight {
        let (client, bodies, next) = (client.clone(), bodies.clone(), next.clone());
        let (url, secret) = (url.to_owned(), secret.to_owned());
        senders.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else {
                    return Ok::<(), reqwest::Error>(());
                };
                let signature = signing::header(&[secret.as_str()], now_unix(), body);
                client
                    .post(&url)
                    .header("content-type", "application/json; charset=utf-8")
                    .header("stripe-signature", signature)
                    .body(body.clone())
                    .send()
                    .await?
                    .error_for_status()?;
            }
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let received = receiver.receipts().len();
    if received < bodies.len() {
        bail!(
            "the baseline sent {} bodies but {received} arrived",
            bodies.len()
        );
    }
    Ok(bodies.len() as f64 / seconds)
}

/// Where a delivery's time goes, from the server's own tracing: every SQL
/// statement sqlx runs (`sqlx::query`, with its execution time) and every
/// HTTP attempt (`mercato::webhooks`, "delivery attempted", `duration_ms`).
/// Time spent waiting for a pooled connection or for SQLite's writer turn is
/// in neither; it shows as the gap to the wall-clock time per delivery.
mod profile {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{filter, Layer};

    /// Count and total seconds per stage.
    pub type Stages = Arc<Mutex<HashMap<String, (u64, f64)>>>;

    struct StageLayer {
        stages: Stages,
    }

    #[derive(Default)]
    struct Fields {
        summary: String,
        statement: String,
        seconds: Option<f64>,
    }

    impl Visit for Fields {
        fn record_str(&mut self, field: &Field, value: &str) {
            match field.name() {
                "summary" => self.summary = value.to_owned(),
                "db.statement" => self.statement = value.to_owned(),
                _ => {}
            }
        }

        fn record_f64(&mut self, field: &Field, value: f64) {
            if field.name() == "elapsed_secs" {
                self.seconds = Some(value);
            }
        }

        fn record_i64(&mut self, field: &Field, value: i64) {
            if field.name() == "duration_ms" {
                self.seconds = Some(value as f64 / 1000.0);
            }
        }

        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "summary" {
                self.summary = format!("{value:?}").trim_matches('"').to_owned();
            }
        }
    }

    impl<S: Subscriber> Layer<S> for StageLayer {
        fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let Some(seconds) = fields.seconds else {
                return;
            };
            let stage = if event.metadata().target() == "sqlx::query" {
                let text = if fields.statement.trim().is_empty() {
                    fields.summary
                } else {
                    fields.statement
                };
                let words: Vec<&str> = text.split_whitespace().collect();
                format!(
                    "sql: {}",
                    words.join(" ").chars().take(60).collect::<String>()
                )
            } else {
                "http: POST to the receiver".to_owned()
            };
            let mut stages = self
                .stages
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let entry = stages.entry(stage).or_default();
            entry.0 += 1;
            entry.1 += seconds;
        }
    }

    /// Starts collecting; call once.
    pub fn install() -> Stages {
        let stages = Stages::default();
        let layer = StageLayer {
            stages: stages.clone(),
        }
        .with_filter(filter::filter_fn(|metadata| {
            matches!(metadata.target(), "sqlx::query" | "mercato::webhooks")
        }));
        tracing_subscriber::registry().with(layer).init();
        stages
    }

    /// Prints each stage's share, per delivered event, and empties the table.
    pub fn report(stages: &Stages, events: usize, wall_seconds: f64) {
        let mut stages = stages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut rows: Vec<(String, (u64, f64))> = stages.drain().collect();
        rows.sort_by(|left, right| right.1 .1.total_cmp(&left.1 .1));
        let per_event_ms = |seconds: f64| seconds * 1000.0 / events.max(1) as f64;
        println!(
            "  profile: wall time per delivered event {:.3} ms",
            per_event_ms(wall_seconds)
        );
        for (stage, (count, seconds)) in rows {
            println!(
                "    {:>8.3} ms/event {:>8} calls {:>8.3} ms/call  {stage}",
                per_event_ms(seconds),
                count,
                seconds * 1000.0 / count.max(1) as f64
            );
        }
    }
}

fn print_figures(options: &Options, figures: &Figures) {
    let [p50, p95, p99, max] = figures.latency_ms;
    println!(
        "  delivered end to end   {:>8.0} events/s  ({:.2} s, {} duplicates)",
        figures.delivered_per_second, figures.seconds, figures.duplicates
    );
    println!(
        "  commit to receipt      p50 {p50:.1} ms  p95 {p95:.1} ms  p99 {p99:.1} ms  max {max:.1} ms"
    );
    println!(
        "  baseline (reqwest, {} in flight) {:>8.0} requests/s",
        options.in_flight(),
        figures.baseline_per_second
    );
}

async fn run_and_print(
    backend: &Backend,
    options: &Options,
    stages: Option<&profile::Stages>,
) -> anyhow::Result<()> {
    println!("{}:", backend.name);
    if let Some(stages) = stages {
        stages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
    let figures = run(backend, options, stages).await;
    backend.drop_database().await?;
    print_figures(options, &figures?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    println!(
        "webhook delivery: {} events, batches of {}, rate {}, concurrency {} (per endpoint {})",
        options.events,
        options.batch,
        if options.rate == 0 {
            "unlimited".to_owned()
        } else {
            format!("{}/s", options.rate)
        },
        options.concurrency,
        options.endpoint_concurrency
    );

    let stages = options.profile.then(profile::install);
    run_and_print(&Backend::sqlite()?, &options, stages.as_ref()).await?;
    if let Ok(admin_url) = std::env::var("MERCATO_BENCH_DATABASE_URL") {
        let backend = Backend::postgres(&admin_url).await?;
        run_and_print(&backend, &options, stages.as_ref()).await?;
    }
    Ok(())
}
