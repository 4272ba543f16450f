//! The durable job queue: background work (import processing, webhook
//! delivery) as rows in the `jobs` table, taken by workers under a lease.
//!
//! A job is `queued` until its `run_at_ms`, then a worker claims it: the row
//! becomes `running` with a fresh lease token and an expiry. Only the holder
//! of the current token can finish the job, so a worker that stalled past its
//! lease cannot overwrite the work of the one that took over. A `running` job
//! whose lease expired (its worker died) is claimable again.
//!
//! On PostgreSQL the claim selects with `FOR UPDATE SKIP LOCKED`, so several
//! processes share the queue and never claim the same job at once. On SQLite
//! the claim runs under the process's writer turn (see [`Db::write`]).

use mercato_core::ids::{random_token, JobId};
use mercato_core::time::now_unix;
use sqlx::{AnyPool, FromRow};

use crate::{numbered_placeholders, Backend, Db, StoreError, WriteTx};

/// Lifecycle of a job row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            _ => JobState::Queued,
        }
    }
}

/// A job claimed by a worker, with the lease that entitles it to finish.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    /// How many times the job has been claimed, this claim included.
    pub attempts: i64,
    pub lease_token: String,
    pub lease_expires_at_ms: i64,
}

/// A job's state as seen from outside.
#[derive(Clone, Debug)]
pub struct JobStatus {
    pub id: JobId,
    pub kind: String,
    pub state: JobState,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(FromRow)]
struct ClaimedRow {
    id: String,
    kind: String,
    payload: String,
    attempts: i64,
    lease_expires_at_ms: i64,
}

#[derive(FromRow)]
struct StatusRow {
    id: String,
    kind: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
}

/// Adds a job inside the caller's transaction, so that it exists exactly when
/// the change that asked for it commits.
pub async fn enqueue(
    tx: &mut WriteTx,
    kind: &str,
    payload: &serde_json::Value,
    run_at_ms: i64,
) -> Result<JobId, StoreError> {
    let id = JobId::generate();
    let now = now_unix();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, attempts, run_at_ms, created, updated) \
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $5)",
    )
    .bind(id.as_str().to_owned())
    .bind(kind.to_owned())
    .bind(serde_json::to_string(payload)?)
    .bind(run_at_ms)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.mark_jobs_enqueued();
    Ok(id)
}

/// Claims the job that has waited longest among those ready at `now_ms` of
/// the given kinds, for `lease_ms`: first one whose worker's lease expired,
/// else the queued one due first.
pub async fn claim(
    db: &Db,
    kinds: &[&str],
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<ClaimedJob>, StoreError> {
    Ok(claim_many(db, kinds, now_ms, lease_ms, 1).await?.pop())
}

/// Claims up to `limit` ready jobs of the given kinds in one transaction,
/// for `lease_ms`: jobs whose worker's lease expired first, then queued
/// ones in the order they fell due. Each of the two lookups reads one index
/// in order, so a claim stays cheap however long the queue grows.
pub async fn claim_many(
    db: &Db,
    kinds: &[&str],
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<ClaimedJob>, StoreError> {
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let lease_token = random_token(24);
    let mut tx = db.write().await?;
    let mut rows = Vec::new();
    for lookup in [Lookup::Abandoned, Lookup::Due] {
        let wanted = limit - rows.len();
        if wanted == 0 {
            break;
        }
        let sql = claim_sql(db.backend(), lookup, kinds.len());
        let mut query = sqlx::query_as::<_, ClaimedRow>(&sql)
            .bind(lease_token.clone())
            .bind(now_ms + lease_ms)
            .bind(now_ms / 1000)
            .bind(now_ms)
            .bind(i64::try_from(wanted).unwrap_or(i64::MAX));
        for kind in kinds {
            query = query.bind((*kind).to_owned());
        }
        rows.extend(query.fetch_all(tx.conn()).await?);
    }
    tx.commit().await?;

    rows.into_iter()
        .map(|row| {
            Ok(ClaimedJob {
                id: JobId::from_stored(row.id),
                kind: row.kind,
                payload: serde_json::from_str(&row.payload)?,
                attempts: row.attempts,
                lease_token: lease_token.clone(),
                lease_expires_at_ms: row.lease_expires_at_ms,
            })
        })
        .collect()
}

/// Which jobs a claim looks at.
#[derive(Clone, Copy)]
enum Lookup {
    /// Running jobs whose lease expired: their worker died.
    Abandoned,
    /// Queued jobs that are due.
    Due,
}

fn claim_sql(backend: Backend, lookup: Lookup, kind_count: usize) -> String {
    let kind_placeholders = numbered_placeholders(6, kind_count);
    let lock_clause = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let (condition, order) = match lookup {
        Lookup::Abandoned => (
            "state = 'running' AND lease_expires_at_ms < $4",
            "lease_expires_at_ms, seq",
        ),
        Lookup::Due => ("state = 'queued' AND run_at_ms <= $4", "run_at_ms, seq"),
    };
    format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at_ms = $2, \
         attempts = attempts + 1, updated = $3 \
         WHERE seq IN (SELECT seq FROM jobs WHERE {condition} AND kind IN ({kind_placeholders}) \
           ORDER BY {order} LIMIT $5 {lock_clause}) \
         RETURNING id, kind, payload, attempts, lease_expires_at_ms"
    )
}

/// Marks the job done; false when the lease was lost to another worker.
pub async fn complete(db: &Db, job: &ClaimedJob) -> Result<bool, StoreError> {
    finish(db, job, JobState::Succeeded, None, None).await
}

/// Puts the job back in the queue to run at `run_at_ms`, recording why.
pub async fn retry_later(
    db: &Db,
    job: &ClaimedJob,
    run_at_ms: i64,
    error: &str,
) -> Result<bool, StoreError> {
    finish(db, job, JobState::Queued, Some(run_at_ms), Some(error)).await
}

/// Gives the job up for good, recording why.
pub async fn fail(db: &Db, job: &ClaimedJob, error: &str) -> Result<bool, StoreError> {
    finish(db, job, JobState::Failed, None, Some(error)).await
}

/// Puts the job back to run at `run_at_ms` without counting this claim as an
/// attempt, for a worker that cannot run it yet (its target is busy).
pub async fn defer(db: &Db, job: &ClaimedJob, run_at_ms: i64) -> Result<bool, StoreError> {
    let mut tx = db.write().await?;
    let deferred = defer_in(&mut tx, job, run_at_ms).await?;
    tx.commit().await?;
    Ok(deferred)
}

/// [`defer`] inside the caller's transaction.
pub async fn defer_in(
    tx: &mut WriteTx,
    job: &ClaimedJob,
    run_at_ms: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at_ms = $1, attempts = attempts - 1, \
         lease_owner = NULL, lease_expires_at_ms = NULL \
         WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(run_at_ms)
    .bind(job.id.as_str().to_owned())
    .bind(job.lease_token.clone())
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Whether the worker still holds the job's lease, checked inside the
/// caller's transaction so that its writes commit only if it does.
pub async fn holds_lease(
    conn: &mut sqlx::AnyConnection,
    job: &ClaimedJob,
) -> Result<bool, StoreError> {
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
    )
    .bind(job.id.as_str().to_owned())
    .bind(job.lease_token.clone())
    .fetch_one(conn)
    .await?;
    Ok(held == 1)
}

/// Extends a lease the worker still holds; false when it was lost.
pub async fn extend_lease(
    db: &Db,
    job: &mut ClaimedJob,
    until_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.write().await?;
    let result = sqlx::query(
        "UPDATE jobs SET lease_expires_at_ms = $1 \
         WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(until_ms)
    .bind(job.id.as_str().to_owned())
    .bind(job.lease_token.clone())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    let extended = result.rows_affected() == 1;
    if extended {
        job.lease_expires_at_ms = until_ms;
    }
    Ok(extended)
}

async fn finish(
    db: &Db,
    job: &ClaimedJob,
    state: JobState,
    run_at_ms: Option<i64>,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let mut tx = db.write().await?;
    let finished = finish_in(&mut tx, job, state, run_at_ms, error).await?;
    tx.commit().await?;
    Ok(finished)
}

/// Ends the claim inside the caller's transaction, so that the job's state
/// commits with the work it records: `Succeeded`, `Failed`, or `Queued`
/// again at `run_at_ms`. False when the lease was lost.
pub async fn finish_in(
    tx: &mut WriteTx,
    job: &ClaimedJob,
    state: JobState,
    run_at_ms: Option<i64>,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE jobs SET state = $1, run_at_ms = COALESCE($2, run_at_ms), last_error = $3, \
         lease_owner = NULL, lease_expires_at_ms = NULL, updated = $4 \
         WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
    )
    .bind(state.as_str())
    .bind(run_at_ms)
    .bind(error.map(str::to_owned))
    .bind(now_unix())
    .bind(job.id.as_str().to_owned())
    .bind(job.lease_token.clone())
    .execute(tx.conn())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes jobs that finished (succeeded or failed) before `before`, Unix
/// seconds; returns how many.
pub async fn purge_finished(db: &Db, before: i64) -> Result<u64, StoreError> {
    let mut tx = db.write().await?;
    let result =
        sqlx::query("DELETE FROM jobs WHERE state IN ('succeeded', 'failed') AND updated < $1")
            .bind(before)
            .execute(tx.conn())
            .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}

/// A job's current state.
pub async fn status(pool: &AnyPool, id: &JobId) -> Result<Option<JobStatus>, StoreError> {
    let row: Option<StatusRow> =
        sqlx::query_as("SELECT id, kind, state, attempts, last_error FROM jobs WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|row| JobStatus {
        id: JobId::from_stored(row.id),
        kind: row.kind,
        state: JobState::parse(&row.state),
        attempts: row.attempts,
        last_error: row.last_error,
    }))
}

/// Jobs waiting to run or running, by state, for `/metrics`.
pub async fn depth(pool: &AnyPool) -> Result<(i64, i64), StoreError> {
    let (queued, running): (i64, i64) = sqlx::query_as(
        "SELECT \
           COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0) \
         FROM jobs WHERE state IN ('queued', 'running')",
    )
    .fetch_one(pool)
    .await?;
    Ok((queued, running))
}
