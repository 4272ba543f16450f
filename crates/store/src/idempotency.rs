//! The `idempotency_keys` table: the first response to each
//! `(account, mode, Idempotency-Key)`, kept for replay.
//!
//! A request claims its key before it runs. The claim is a row in state
//! `running`; the response is saved into it afterwards (`done`). A row still
//! `running` after the lock timeout belongs to a request whose process died,
//! and the next request with the key takes it over. Rows older than the
//! retention period are treated as absent and swept.

use mercato_core::ids::AccountId;
use sqlx::{AnyPool, FromRow};

use crate::{Db, StoreError};

/// Whose key it is: the account acted on, and the mode.
#[derive(Clone, Debug)]
pub struct KeyScope {
    pub account_id: AccountId,
    pub livemode: bool,
}

/// Timing rules for a claim, all in Unix seconds.
#[derive(Clone, Copy, Debug)]
pub struct ClaimClock {
    pub now: i64,
    /// Keys created before this are expired.
    pub expired_before: i64,
    /// A `running` claim locked before this is abandoned.
    pub abandoned_before: i64,
}

/// A saved response.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedResponse {
    pub status: u16,
    pub body: String,
}

/// The outcome of claiming a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// The request is the first with this key (or takes over an abandoned
    /// one): run it, then [`save`] or [`release`].
    Started,
    /// The key was used before with the same parameters: replay this.
    Replay(SavedResponse),
    /// The key is held by a request still running.
    InFlight,
    /// The key was used before with different parameters.
    Mismatch,
}

#[derive(FromRow)]
struct KeyRow {
    fingerprint: String,
    state: String,
    response_status: Option<i64>,
    response_body: Option<String>,
    created: i64,
    locked_at: i64,
}

/// Claims `key` for a request whose parameters hash to `fingerprint`.
pub async fn claim(
    db: &Db,
    scope: &KeyScope,
    key: &str,
    fingerprint: &str,
    clock: ClaimClock,
) -> Result<Claim, StoreError> {
    let mut tx = db.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys \
         (account_id, livemode, idempotency_key, fingerprint, state, created, locked_at) \
         VALUES ($1, $2, $3, $4, 'running', $5, $5) ON CONFLICT DO NOTHING",
    )
    .bind(scope.account_id.as_str().to_owned())
    .bind(i64::from(scope.livemode))
    .bind(key.to_owned())
    .bind(fingerprint.to_owned())
    .bind(clock.now)
    .execute(tx.conn())
    .await?;
    if inserted.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(Claim::Started);
    }

    let existing: KeyRow = sqlx::query_as(
        "SELECT fingerprint, state, response_status, response_body, created, locked_at \
         FROM idempotency_keys WHERE account_id = $1 AND livemode = $2 AND idempotency_key = $3",
    )
    .bind(scope.account_id.as_str().to_owned())
    .bind(i64::from(scope.livemode))
    .bind(key.to_owned())
    .fetch_one(tx.conn())
    .await?;

    let restart = existing.created < clock.expired_before
        || (existing.state == "running"
            && existing.locked_at < clock.abandoned_before
            && existing.fingerprint == fingerprint);
    let claim = if restart {
        restart_claim(&mut tx, scope, key, fingerprint, clock.now).await?;
        Claim::Started
    } else {
        judge_existing(existing, fingerprint)
    };
    tx.commit().await?;
    Ok(claim)
}

fn judge_existing(existing: KeyRow, fingerprint: &str) -> Claim {
    let saved = match (
        existing.state.as_str(),
        existing.response_status,
        existing.response_body,
    ) {
        ("done", Some(status), Some(body)) => SavedResponse {
            status: u16::try_from(status).unwrap_or(500),
            body,
        },
        _ => return Claim::InFlight,
    };
    if existing.fingerprint == fingerprint {
        Claim::Replay(saved)
    } else {
        Claim::Mismatch
    }
}

async fn restart_claim(
    tx: &mut crate::WriteTx,
    scope: &KeyScope,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET fingerprint = $1, state = 'running', response_status = NULL, \
         response_body = NULL, created = $2, locked_at = $2 \
         WHERE account_id = $3 AND livemode = $4 AND idempotency_key = $5",
    )
    .bind(fingerprint.to_owned())
    .bind(now)
    .bind(scope.account_id.as_str().to_owned())
    .bind(i64::from(scope.livemode))
    .bind(key.to_owned())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Saves the response of a request that claimed `key`.
pub async fn save(
    db: &Db,
    scope: &KeyScope,
    key: &str,
    response: &SavedResponse,
) -> Result<(), StoreError> {
    let mut tx = db.write().await?;
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2 \
         WHERE account_id = $3 AND livemode = $4 AND idempotency_key = $5",
    )
    .bind(i64::from(response.status))
    .bind(response.body.clone())
    .bind(scope.account_id.as_str().to_owned())
    .bind(i64::from(scope.livemode))
    .bind(key.to_owned())
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Forgets a claim whose request was refused before it ran, so that the key
/// can be used again with corrected parameters.
pub async fn release(db: &Db, scope: &KeyScope, key: &str) -> Result<(), StoreError> {
    let mut tx = db.write().await?;
    sqlx::query(
        "DELETE FROM idempotency_keys \
         WHERE account_id = $1 AND livemode = $2 AND idempotency_key = $3 AND state = 'running'",
    )
    .bind(scope.account_id.as_str().to_owned())
    .bind(i64::from(scope.livemode))
    .bind(key.to_owned())
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Deletes keys created before `before`; returns how many.
pub async fn purge_expired(db: &Db, before: i64) -> Result<u64, StoreError> {
    let mut tx = db.write().await?;
    let result = sqlx::query("DELETE FROM idempotency_keys WHERE created < $1")
        .bind(before)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}

/// How many keys are stored, for tests and metrics.
pub async fn count(pool: &AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(pool)
        .await?)
}
