//! The delivery worker: one claim loop per process that takes
//! `webhook.deliver` jobs from the queue in batches, runs each delivery in
//! its own task, and hands the outcomes to one recorder task that saves
//! many of them per transaction.
//!
//! Two limits keep one slow endpoint from holding up the rest: at most
//! `concurrency` deliveries run at once in all, and at most
//! `endpoint_concurrency` to any one endpoint. A job whose endpoint
//! stays saturated is put back for a second without counting as an
//! attempt, so other endpoints' jobs go on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mercato_core::secrets::SecretBox;
use mercato_core::time::now_unix_millis;
use mercato_core::Config;
use mercato_store::events::DELIVERY_JOB;
use mercato_store::jobs::{self, ClaimedJob};
use mercato_store::Db;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::deliver::{Outcome, Target};
use crate::outbound::{self, TargetPolicy};
use crate::retry::RetryPolicy;

/// How long a claimed job waits for a slot at its endpoint before it is put
/// back. The wait holds one of the global slots, so it stays short.
const ENDPOINT_WAIT: Duration = Duration::from_millis(250);
/// The most outcomes saved in one transaction.
const RECORD_BATCH: usize = 256;
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

    /// Claims and runs deliveries until `stop` turns true. Each claim takes
    /// as many jobs as there are free delivery slots, and one recorder task
    /// saves the outcomes of many deliveries per transaction.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let in_flight = Arc::new(Semaphore::new(self.settings.concurrency));
        let (outcomes, outcomes_to_record) = mpsc::channel(self.settings.concurrency);
        tokio::spawn(Arc::clone(&self).record_outcomes(outcomes_to_record));
        tracing::info!(target: "mercato::webhooks", concurrency = self.settings.concurrency, "delivery worker started");
        loop {
            let permits = tokio::select! {
                permits = free_slots(&in_flight) => match permits {
                    Some(permits) => permits,
                    None => break,
                },
                _ = stop.changed() => break,
            };
            let jobs_added = self.db.jobs_added().notified();
            tokio::pin!(jobs_added);
            jobs_added.as_mut().enable();

            let wanted = permits.len();
            let claimed = jobs::claim_many(
                &self.db,
                &[DELIVERY_JOB],
                now_unix_millis(),
                self.settings.lease_ms(),
                wanted,
            )
            .await;
            let queue_drained = match claimed {
                Ok(claimed) => {
                    let drained = claimed.len() < wanted;
                    let targets = self.load_targets(&claimed).await;
                    for ((job, target), permit) in claimed.into_iter().zip(targets).zip(permits) {
                        self.dispatch(job, target, permit, outcomes.clone());
                    }
                    drained
                }
                Err(error) => {
                    tracing::warn!(target: "mercato::webhooks", %error, "could not claim deliveries");
                    true
                }
            };
            if queue_drained {
                tokio::select! {
                    () = &mut jobs_added => {}
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = stop.changed() => break,
                }
            }
        }
        tracing::info!(target: "mercato::webhooks", "delivery worker stopped");
    }

    /// Runs the job in its own task once its endpoint has a free slot, or
    /// puts it back for later if the endpoint stays saturated. The outcome
    /// goes to the recorder, whose bounded queue holds the global slot until
    /// there is room.
    fn dispatch(
        self: &Arc<Self>,
        job: ClaimedJob,
        target: Target,
        permit: OwnedSemaphorePermit,
        outcomes: mpsc::Sender<Outcome>,
    ) {
        let worker = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = match target {
                Target::Ready(ready) => {
                    let (endpoint, event) = *ready;
                    let slot = worker.endpoint_slot(endpoint.id.as_str());
                    match tokio::time::timeout(ENDPOINT_WAIT, slot.acquire_owned()).await {
                        Ok(Ok(_slot_permit)) => worker.attempt(job, endpoint, event).await,
                        _ => Outcome::PutBack(job),
                    }
                }
                Target::Gone => Outcome::NothingToSend(job),
                Target::Unavailable => Outcome::PutBack(job),
            };
            if outcomes.send(outcome).await.is_err() {
                tracing::warn!(target: "mercato::webhooks", "the recorder stopped; the delivery runs again when its lease expires");
            }
            drop(permit);
        });
    }

    /// Saves outcomes as they come, up to [`RECORD_BATCH`] per transaction,
    /// until every sender is gone.
    async fn record_outcomes(self: Arc<Self>, mut outcomes: mpsc::Receiver<Outcome>) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while outcomes.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            if let Err(error) = self.record_batch(&batch).await {
                tracing::warn!(
                    target: "mercato::webhooks",
                    %error,
                    deliveries = batch.len(),
                    "could not record deliveries; they run again when their leases expire"
                );
            }
            batch.clear();
        }
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

/// Waits for one free delivery slot, then takes every other free one
/// without waiting; `None` once the semaphore is closed.
async fn free_slots(in_flight: &Arc<Semaphore>) -> Option<Vec<OwnedSemaphorePermit>> {
    let first = Arc::clone(in_flight).acquire_owned().await.ok()?;
    let mut permits = vec![first];
    while let Ok(permit) = Arc::clone(in_flight).try_acquire_owned() {
        permits.push(permit);
    }
    Some(permits)
}
