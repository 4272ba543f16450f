//! The delivery worker: one claim loop per process that takes
//! `webhook.deliver` jobs from the queue and runs each delivery in its own
//! task.
//!
//! Two limits keep one slow endpoint from holding up the rest: at most
//! `concurrency` deliveries run at once in all, and at most
//! `endpoint_concurrency` to any one endpoint. A job whose endpoint is
//! saturated is put back for a second without counting as an attempt, so
//! the loop moves on to other endpoints' jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mercato_core::secrets::SecretBox;
use mercato_core::time::now_unix_millis;
use mercato_core::Config;
use mercato_store::events::DELIVERY_JOB;
use mercato_store::jobs::{self, ClaimedJob};
use mercato_store::Db;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::outbound::{self, TargetPolicy};
use crate::retry::RetryPolicy;

/// How long the loop waits for a busy endpoint before putting its job back.
const ENDPOINT_WAIT: Duration = Duration::from_millis(20);
/// How far a job for a saturated endpoint is put back.
const ENDPOINT_BUSY_DELAY_MS: i64 = 1_000;
/// Extra lease beyond the delivery timeout, for recording the outcome.
const LEASE_MARGIN_MS: i64 = 30_000;

/// The delivery settings, read from the configuration.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    pub timeout: Duration,
    pub concurrency: usize,
    pub endpoint_concurrency: usize,
    pub retry: RetryPolicy,
    pub disable_after_failing_secs: i64,
    pub allow_private_targets: bool,
    pub poll_interval: Duration,
    pub api_version: String,
}

impl DeliverySettings {
    pub fn from_config(config: &Config, api_version: &str) -> Self {
        let hours_ms =
            |hours: u64| i64::try_from(hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
        Self {
            timeout: Duration::from_secs(config.webhook_timeout_seconds.max(1)),
            concurrency: config.webhook_concurrency.max(1),
            endpoint_concurrency: config.webhook_endpoint_concurrency.max(1),
            retry: RetryPolicy {
                live_base_ms: config.webhook_live_retry_base_ms,
                live_window_ms: hours_ms(config.webhook_live_retry_window_hours),
                sandbox_base_ms: config.webhook_sandbox_retry_base_ms,
                sandbox_max_attempts: config.webhook_sandbox_max_attempts.max(1),
                max_delay_ms: config.webhook_retry_max_delay_ms,
            },
            disable_after_failing_secs: i64::try_from(
                config
                    .webhook_disable_after_failing_days
                    .saturating_mul(86_400),
            )
            .unwrap_or(i64::MAX),
            allow_private_targets: config.webhook_allow_private_targets,
            poll_interval: Duration::from_millis(config.job_poll_interval_ms.max(10)),
            api_version: api_version.to_owned(),
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX / 2) + LEASE_MARGIN_MS
    }
}

/// Delivers events to webhook endpoints.
pub struct DeliveryWorker {
    pub(crate) db: Db,
    pub(crate) secrets: SecretBox,
    pub(crate) settings: DeliverySettings,
    live_client: reqwest::Client,
    sandbox_client: reqwest::Client,
    endpoint_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl DeliveryWorker {
    pub fn new(db: Db, secrets: SecretBox, settings: DeliverySettings) -> Arc<Self> {
        let allow_private = settings.allow_private_targets;
        Arc::new(Self {
            live_client: outbound::client(
                TargetPolicy::for_mode(true, allow_private),
                settings.timeout,
            ),
            sandbox_client: outbound::client(
                TargetPolicy::for_mode(false, allow_private),
                settings.timeout,
            ),
            db,
            secrets,
            settings,
            endpoint_slots: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn client(&self, livemode: bool) -> &reqwest::Client {
        if livemode {
            &self.live_client
        } else {
            &self.sandbox_client
        }
    }

    /// Claims and runs deliveries until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let in_flight = Arc::new(Semaphore::new(self.settings.concurrency));
        tracing::info!(target: "mercato::webhooks", concurrency = self.settings.concurrency, "delivery worker started");
        loop {
            let permit = tokio::select! {
                permit = in_flight.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            };
            let jobs_added = self.db.jobs_added().notified();
            tokio::pin!(jobs_added);
            jobs_added.as_mut().enable();

            match jobs::claim(
                &self.db,
                &[DELIVERY_JOB],
                now_unix_millis(),
                self.settings.lease_ms(),
            )
            .await
            {
                Ok(Some(job)) => self.dispatch(job, permit).await,
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        () = &mut jobs_added => {}
                        () = tokio::time::sleep(self.settings.poll_interval) => {}
                        _ = stop.changed() => break,
                    }
                }
                Err(error) => {
                    drop(permit);
                    tracing::warn!(target: "mercato::webhooks", %error, "could not claim a delivery");
                    tokio::time::sleep(self.settings.poll_interval).await;
                }
            }
        }
        tracing::info!(target: "mercato::webhooks", "delivery worker stopped");
    }

    /// Runs the job in its own task if its endpoint has a free slot, or puts
    /// it back for later.
    async fn dispatch(self: &Arc<Self>, job: ClaimedJob, permit: OwnedSemaphorePermit) {
        let endpoint_id = job.payload["endpoint_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let slot = self.endpoint_slot(&endpoint_id);
        let acquired = tokio::time::timeout(ENDPOINT_WAIT, slot.acquire_owned()).await;
        let Ok(Ok(slot_permit)) = acquired else {
            let later = now_unix_millis() + ENDPOINT_BUSY_DELAY_MS;
            if let Err(error) = jobs::defer(&self.db, &job, later).await {
                tracing::warn!(target: "mercato::webhooks", %error, "could not put a delivery back");
            }
            return;
        };

        let worker = Arc::clone(self);
        tokio::spawn(async move {
            worker.deliver(job).await;
            drop(slot_permit);
            drop(permit);
        });
    }

    fn endpoint_slot(&self, endpoint_id: &str) -> Arc<Semaphore> {
        let mut slots = self
            .endpoint_slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots
            .entry(endpoint_id.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.endpoint_concurrency)))
            .clone()
    }
}
