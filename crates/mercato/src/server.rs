//! Starting and stopping the server: open the store, apply migrations, create
//! the platform on first start, bind, serve until told to stop, then drain.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use mercato_api::observe::API_VERSION;
use mercato_api::AppState;
use mercato_core::secrets::SecretBox;
use mercato_core::time::now_unix;
use mercato_core::Config;
use mercato_events::{DeliverySettings, DeliveryWorker};
use mercato_imports::ImportWorker;
use mercato_store::blobs::BlobStore;
use mercato_store::bootstrap::{self, BootstrapKeys, Bootstrapped};
use mercato_store::keys::{KeyKind, KeyShape};
use mercato_store::{events, idempotency, jobs, webhooks, Db};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How often expired idempotency keys, events and attempts are swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// A server running in this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub db: Db,
    /// What the first start created, if this start was the first.
    pub bootstrapped: Option<Bootstrapped>,
    stop: oneshot::Sender<()>,
    stop_workers: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections and waits for requests in flight.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop_workers.send(true).ok();
        self.stop.send(()).ok();
        self.task.await.context("server task panicked")??;
        self.db.close().await;
        Ok(())
    }
}

/// Opens the store and starts serving in a background task.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let db = open_store(&config).await?;
    let bootstrapped = bootstrap::ensure_platform(&db, &bootstrap_keys(&config)?).await?;
    let blobs = BlobStore::open(config.blob_dir()).await?;
    let swept = blobs.sweep_temporary().await?;
    if swept > 0 {
        tracing::info!(target: "mercato::server", swept, "removed partial uploads from an earlier run");
    }

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let secrets = SecretBox::load(config.secret_key.as_deref(), &config.data_dir)
        .context("cannot load the secret key")?;
    let (stop_workers, workers_stopped) = watch::channel(false);
    let worker = DeliveryWorker::new(
        db.clone(),
        secrets.clone(),
        DeliverySettings::from_config(&config, API_VERSION),
    );
    tokio::spawn(worker.run(workers_stopped.clone()));
    let importer = ImportWorker::new(
        db.clone(),
        blobs.clone(),
        API_VERSION,
        Duration::from_millis(config.job_poll_interval_ms.max(10)),
    );
    tokio::spawn(importer.run(workers_stopped));
    let state = AppState::new(db.clone(), blobs, secrets, config);
    tokio::spawn(sweep_expired(state.clone()));

    let (stop, stopped) = oneshot::channel();
    let app = mercato_api::router(state);
    let task = tokio::spawn(async move {
        let (drain_started, drain_deadline) = oneshot::channel::<()>();
        let shutdown = async move {
            stopped.await.ok();
            drain_started.send(()).ok();
        };
        let serving = axum::serve(listener, app).with_graceful_shutdown(shutdown);
        tokio::select! {
            result = serving => result,
            () = async { drain_deadline.await.ok(); tokio::time::sleep(grace).await } => {
                tracing::warn!(target: "mercato::server", "requests still running after the grace period; exiting");
                Ok(())
            }
        }
    });
    tracing::info!(target: "mercato::server", %addr, "listening");

    Ok(RunningServer {
        addr,
        db,
        bootstrapped,
        stop,
        stop_workers,
        task,
    })
}

/// Connects to the configured database and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Db> {
    let url = config.effective_database_url();
    let db = Db::connect(&url, config.database_max_connections)
        .await
        .context("cannot open the database")?;
    db.migrate().await.context("cannot migrate the database")?;
    Ok(db)
}

fn bootstrap_keys(config: &Config) -> anyhow::Result<BootstrapKeys> {
    let checked = |given: &Option<String>,
                   livemode: bool,
                   variable: &str|
     -> anyhow::Result<Option<String>> {
        let Some(secret) = given.clone().filter(|secret| !secret.is_empty()) else {
            return Ok(None);
        };
        let expected = KeyShape {
            kind: KeyKind::Secret,
            livemode,
        };
        anyhow::ensure!(
            KeyShape::of(&secret) == Some(expected),
            "{variable} must look like sk_{}_ followed by letters and digits",
            if livemode { "live" } else { "test" }
        );
        Ok(Some(secret))
    };
    Ok(BootstrapKeys {
        test_secret: checked(
            &config.bootstrap_test_key,
            false,
            "MERCATO_BOOTSTRAP_TEST_KEY",
        )?,
        live_secret: checked(
            &config.bootstrap_live_key,
            true,
            "MERCATO_BOOTSTRAP_LIVE_KEY",
        )?,
    })
}

/// The one-time banner with the platform's new keys; chosen keys are not
/// echoed, since whoever chose them has them.
pub fn bootstrap_banner(made: &Bootstrapped) -> String {
    let mut banner = format!(
        "Mercato is set up. Platform account: {}\n\
         These keys are shown once; Mercato keeps only their hashes.\n",
        made.platform.id
    );
    for (shape, secret, generated) in &made.keys {
        let mode = if shape.livemode { "live" } else { "test" };
        let shown = if *generated {
            secret.as_str()
        } else {
            "(the key you chose)"
        };
        banner.push_str(&format!(
            "  {:<12} {:<5} {shown}\n",
            shape.kind.as_str(),
            mode
        ));
    }
    banner
}

async fn sweep_expired(state: AppState) {
    let hours = |hours: u64| i64::try_from(hours.saturating_mul(3600)).unwrap_or(i64::MAX / 2);
    let key_retention = hours(state.config.idempotency_key_ttl_hours);
    let event_retention = hours(state.config.event_retention_days.saturating_mul(24));
    let mut ticker = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        ticker.tick().await;
        let now = now_unix();
        let swept = async {
            let keys = idempotency::purge_expired(&state.db, now - key_retention).await?;
            let events = events::purge_older_than(&state.db, now - event_retention).await?;
            let attempts = webhooks::purge_attempts(&state.db, now - event_retention).await?;
            jobs::purge_finished(&state.db, now - event_retention).await?;
            Ok::<_, mercato_store::StoreError>((keys, events, attempts))
        };
        match swept.await {
            Ok((0, 0, 0)) => {}
            Ok((keys, events, attempts)) => {
                tracing::info!(target: "mercato::server", keys, events, attempts, "expired records removed")
            }
            Err(error) => {
                tracing::warn!(target: "mercato::server", %error, "could not sweep expired records")
            }
        }
    }
}
