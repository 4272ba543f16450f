//! One delivery: sign the event, POST it, record the attempt, and decide
//! what happens next (done, retry later, give up, or disable the endpoint).

use std::collections::HashMap;
use std::time::Instant;

use mercato_core::ids::WebhookAttemptId;
use mercato_core::time::{now_unix, now_unix_millis};
use mercato_store::events::{self, Event, NewEvent, RequestInfo};
use mercato_store::jobs::{self, ClaimedJob, JobState};
use mercato_store::webhooks::{self, Attempt, WebhookEndpoint, DISABLED, ENABLED};
use mercato_store::{accounts, StoreError, WriteTx};

use crate::outbound::{check_url, TargetPolicy};
use crate::worker::DeliveryWorker;
use crate::{render, signing};

/// How far a job for a saturated endpoint is put back.
const ENDPOINT_BUSY_DELAY_MS: i64 = 1_000;
/// How much of a response body is kept with the attempt.
const RESPONSE_HEAD_BYTES: usize = 512;

/// What the receiver did.
#[derive(Debug)]
struct Sent {
    status_code: Option<u16>,
    duration_ms: i64,
    error: Option<String>,
    response_head: Option<String>,
}

impl Sent {
    fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }

    fn gone(&self) -> bool {
        self.status_code == Some(410)
    }
}

/// What becomes of the job after the attempt.
enum Next {
    Done,
    RetryOrGiveUp,
}

/// What a claimed job is to be sent to, loaded for a whole claim at once.
pub(crate) enum Target {
    Ready(Box<(WebhookEndpoint, Event)>),
    /// The event or endpoint is gone, or the endpoint is disabled.
    Gone,
    /// The store could not be read; the job is put back.
    Unavailable,
}

/// What a delivery task hands to the recorder.
pub(crate) enum Outcome {
    /// The event was sent (or sending failed) and the attempt is recorded.
    Attempted(Box<Attempted>),
    /// Nothing to send; the job ends without an attempt.
    NothingToSend(ClaimedJob),
    /// The job could not run yet (its endpoint stayed saturated, or the
    /// store could not be read); it is put back for later without counting
    /// as an attempt.
    PutBack(ClaimedJob),
}

pub(crate) struct Attempted {
    job: ClaimedJob,
    endpoint: WebhookEndpoint,
    event: Event,
    sent: Sent,
}

impl DeliveryWorker {
    /// The target of each claimed job, in order, from two queries.
    pub(crate) async fn load_targets(&self, claimed: &[ClaimedJob]) -> Vec<Target> {
        let field = |job: &ClaimedJob, name: &str| -> String {
            job.payload[name].as_str().unwrap_or_default().to_owned()
        };
        let event_ids: Vec<String> = claimed.iter().map(|job| field(job, "event_id")).collect();
        let endpoint_ids: Vec<String> = claimed
            .iter()
            .map(|job| field(job, "endpoint_id"))
            .collect();
        let (distinct_events, distinct_endpoints) = (distinct(&event_ids), distinct(&endpoint_ids));
        let loaded = tokio::try_join!(
            events::get_for_delivery(self.db.pool(), &distinct_events),
            webhooks::get_for_delivery(self.db.pool(), &distinct_endpoints),
        );
        let (events, endpoints) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::warn!(target: "mercato::webhooks", %error, "could not load deliveries");
                return claimed.iter().map(|_| Target::Unavailable).collect();
            }
        };

        let events: HashMap<String, Event> = events
            .into_iter()
            .map(|event| (event.id.to_string(), event))
            .collect();
        let endpoints: HashMap<String, WebhookEndpoint> = endpoints
            .into_iter()
            .filter(|endpoint| endpoint.status == ENABLED)
            .map(|endpoint| (endpoint.id.to_string(), endpoint))
            .collect();
        event_ids
            .iter()
            .zip(&endpoint_ids)
            .map(|(event_id, endpoint_id)| {
                match (endpoints.get(endpoint_id), events.get(event_id)) {
                    (Some(endpoint), Some(event)) => {
                        Target::Ready(Box::new((endpoint.clone(), event.clone())))
                    }
                    _ => Target::Gone,
                }
            })
            .collect()
    }

    /// Sends one job's event and says what happened.
    pub(crate) async fn attempt(
        &self,
        job: ClaimedJob,
        endpoint: WebhookEndpoint,
        event: Event,
    ) -> Outcome {
        let sent = self.send(&endpoint, &event).await;
        tracing::info!(
            target: "mercato::webhooks",
            event = %event.id,
            endpoint = %endpoint.id,
            status = sent.status_code,
            duration_ms = sent.duration_ms,
            error = sent.error.as_deref(),
            "delivery attempted"
        );
        Outcome::Attempted(Box::new(Attempted {
            job,
            endpoint,
            event,
            sent,
        }))
    }

    /// Saves a batch of outcomes in one transaction.
    pub(crate) async fn record_batch(&self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        let mut tx = self.db.write().await?;
        for outcome in outcomes {
            match outcome {
                Outcome::Attempted(attempted) => self.record(&mut tx, attempted).await?,
                Outcome::NothingToSend(job) => {
                    jobs::finish_in(&mut tx, job, JobState::Succeeded, None, None).await?;
                }
                Outcome::PutBack(job) => {
                    let later = now_unix_millis() + ENDPOINT_BUSY_DELAY_MS;
                    jobs::defer_in(&mut tx, job, later).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn send(&self, endpoint: &WebhookEndpoint, event: &Event) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent {
            status_code: None,
            duration_ms: elapsed_ms(started),
            error: Some(error),
            response_head: None,
        };
        let policy = TargetPolicy::for_mode(endpoint.livemode, self.settings.allow_private_targets);
        let url = match check_url(&endpoint.url, policy) {
            Ok(url) => url,
            Err(error) => return failed(error.to_string()),
        };
        let secrets = match self.signing_secrets(endpoint) {
            Ok(secrets) => secrets,
            Err(error) => return failed(error),
        };
        let body = match serde_json::to_vec_pretty(&render::event(event)) {
            Ok(body) => body,
            Err(error) => return failed(error.to_string()),
        };
        let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = signing::header(&secret_refs, now_unix(), &body);

        let response = self
            .client(endpoint.livemode)
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header("stripe-signature", signature)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => {
                let status_code = response.status().as_u16();
                let response_head = read_head(response).await;
                Sent {
                    status_code: Some(status_code),
                    duration_ms: elapsed_ms(started),
                    error: None,
                    response_head,
                }
            }
            Err(error) => failed(describe(&error, self.settings.timeout.as_secs())),
        }
    }

    /// The current secret, and the previous one while a roll keeps it valid.
    fn signing_secrets(&self, endpoint: &WebhookEndpoint) -> Result<Vec<String>, String> {
        let current = self
            .secrets
            .open(&endpoint.secret_sealed)
            .map_err(|error| error.to_string())?;
        let mut secrets = vec![current];
        let previous_valid = endpoint
            .previous_secret_expires_at
            .is_some_and(|until| until > now_unix());
        if let (true, Some(sealed)) = (previous_valid, &endpoint.previous_secret_sealed) {
            secrets.push(
                self.secrets
                    .open(sealed)
                    .map_err(|error| error.to_string())?,
            );
        }
        Ok(secrets)
    }

    /// Saves the attempt, its consequences for the endpoint and event, and
    /// the job's next state. Only the fields the worker owns are written, so
    /// a change made through the API while the delivery was in flight stays.
    async fn record(&self, tx: &mut WriteTx, attempted: &Attempted) -> Result<(), StoreError> {
        let Attempted {
            job,
            endpoint,
            event,
            sent,
        } = attempted;
        let now = now_unix();
        webhooks::insert_attempt(tx.conn(), &attempt_record(endpoint, event, sent, now)).await?;

        let next = if sent.succeeded() {
            webhooks::mark_delivered(tx.conn(), event.id.as_str(), endpoint.id.as_str()).await?;
            if endpoint.failing_since.is_some() {
                webhooks::set_failing_since(tx.conn(), &endpoint.id, None).await?;
            }
            Next::Done
        } else if sent.gone() {
            self.disable(tx, endpoint, "the endpoint answered 410 Gone", now)
                .await?;
            Next::Done
        } else {
            let failing_since = endpoint.failing_since.unwrap_or(now);
            if now - failing_since >= self.settings.disable_after_failing_secs {
                self.disable(tx, endpoint, "every delivery failed for too long", now)
                    .await?;
                Next::Done
            } else {
                if endpoint.failing_since.is_none() {
                    webhooks::set_failing_since(tx.conn(), &endpoint.id, Some(now)).await?;
                }
                Next::RetryOrGiveUp
            }
        };
        let (state, run_at_ms, error) = self.job_outcome(job, event, next);
        jobs::finish_in(tx, job, state, run_at_ms, error).await?;
        Ok(())
    }

    /// Disables the endpoint and records a `webhook_endpoint.disabled` event
    /// (an extension) for its account, which other endpoints may receive.
    async fn disable(
        &self,
        tx: &mut WriteTx,
        endpoint: &WebhookEndpoint,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        if !webhooks::disable_enabled(tx.conn(), &endpoint.id, reason, now).await? {
            return Ok(());
        }
        tracing::warn!(target: "mercato::webhooks", endpoint = %endpoint.id, reason, "webhook endpoint disabled");

        let mut disabled = endpoint.clone();
        disabled.status = DISABLED.to_owned();
        disabled.disabled_reason = Some(reason.to_owned());
        disabled.updated = now;
        let owner = accounts::get(self.db.pool(), endpoint.account_id.as_str()).await?;
        let new_event = NewEvent {
            account_id: endpoint.account_id.clone(),
            platform_id: owner.and_then(|account| account.platform_id),
            livemode: endpoint.livemode,
            event_type: "webhook_endpoint.disabled".to_owned(),
            object: render::endpoint(&disabled, None),
            previous_attributes: Some(serde_json::json!({ "status": ENABLED })),
            request: RequestInfo::default(),
        };
        events::record(tx, new_event, &self.settings.api_version).await?;
        Ok(())
    }

    /// What becomes of the job: done, retried later, or given up.
    fn job_outcome(
        &self,
        job: &ClaimedJob,
        event: &Event,
        next: Next,
    ) -> (JobState, Option<i64>, Option<&'static str>) {
        if matches!(next, Next::Done) {
            return (JobState::Succeeded, None, None);
        }
        let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
        let age_ms = now_unix_millis() - event.created_ms;
        match self
            .settings
            .retry
            .next_attempt_in_ms(event.livemode, attempts, age_ms)
        {
            Some(delay_ms) => {
                let run_at = now_unix_millis() + i64::try_from(delay_ms).unwrap_or(i64::MAX / 2);
                (JobState::Queued, Some(run_at), Some("delivery failed"))
            }
            None => {
                tracing::warn!(target: "mercato::webhooks", event = %event.id, attempts, "giving up on a delivery");
                (JobState::Failed, None, Some("retries exhausted"))
            }
        }
    }
}

fn attempt_record(endpoint: &WebhookEndpoint, event: &Event, sent: &Sent, now: i64) -> Attempt {
    Attempt {
        id: WebhookAttemptId::generate(),
        endpoint_id: endpoint.id.clone(),
        event_id: event.id.to_string(),
        created: now,
        status_code: sent.status_code.map(i64::from),
        duration_ms: sent.duration_ms,
        error: sent.error.clone(),
        response_head: sent.response_head.clone(),
        succeeded: sent.succeeded(),
    }
}

/// The first bytes of the response body, as text.
async fn read_head(mut response: reqwest::Response) -> Option<String> {
    let mut head = Vec::new();
    while head.len() < RESPONSE_HEAD_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            _ => break,
        }
    }
    head.truncate(RESPONSE_HEAD_BYTES);
    (!head.is_empty()).then(|| String::from_utf8_lossy(&head).into_owned())
}

/// A failure in words, without the URL (which may carry a token).
fn describe(error: &reqwest::Error, timeout_secs: u64) -> String {
    if error.is_timeout() {
        return format!("timed out after {timeout_secs} s");
    }
    let mut text = if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn distinct(ids: &[String]) -> Vec<&str> {
    let mut distinct: Vec<&str> = ids.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}
