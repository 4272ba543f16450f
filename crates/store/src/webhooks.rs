//! Webhook endpoints, the per-endpoint delivery state of each event, and
//! the record of every delivery attempt.
//!
//! An endpoint's signing secrets are kept sealed (encrypted with the
//! server's secret key, see `mercato_core::secrets`): they must be read back
//! to sign, so they cannot be hashed like API keys.

use mercato_core::ids::{AccountId, WebhookAttemptId, WebhookEndpointId};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::accounts::Metadata;
use crate::list::{Bind, ListQuery, Page, PageRequest};
use crate::{numbered_placeholders, Db, StoreError};

/// `status` of an endpoint that receives events.
pub const ENABLED: &str = "enabled";
/// `status` of an endpoint that receives nothing.
pub const DISABLED: &str = "disabled";

/// A webhook endpoint as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub account_id: AccountId,
    pub livemode: bool,
    pub url: String,
    pub description: Option<String>,
    /// Event types, or `*` for all.
    pub enabled_events: Vec<String>,
    /// Receives the events of the account's connected accounts instead of its own.
    pub connect: bool,
    pub api_version: Option<String>,
    pub metadata: Metadata,
    pub status: String,
    pub secret_sealed: String,
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    /// When the current run of failed deliveries began.
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created: i64,
    pub updated: i64,
}

impl WebhookEndpoint {
    /// Whether an event of this type is sent here.
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled_events
            .iter()
            .any(|wanted| wanted == "*" || wanted == event_type)
    }
}

const COLUMNS: &str = "id, account_id, livemode, url, description, enabled_events, connect, \
    api_version, metadata, status, secret_sealed, previous_secret_sealed, \
    previous_secret_expires_at, failing_since, disabled_reason, created, updated";

#[derive(FromRow)]
struct EndpointRow {
    id: String,
    account_id: String,
    livemode: i64,
    url: String,
    description: Option<String>,
    enabled_events: String,
    connect: i64,
    api_version: Option<String>,
    metadata: String,
    status: String,
    secret_sealed: String,
    previous_secret_sealed: Option<String>,
    previous_secret_expires_at: Option<i64>,
    failing_since: Option<i64>,
    disabled_reason: Option<String>,
    created: i64,
    updated: i64,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(row: EndpointRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: WebhookEndpointId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            livemode: row.livemode != 0,
            url: row.url,
            description: row.description,
            enabled_events: serde_json::from_str(&row.enabled_events)?,
            connect: row.connect != 0,
            api_version: row.api_version,
            metadata: serde_json::from_str(&row.metadata)?,
            status: row.status,
            secret_sealed: row.secret_sealed,
            previous_secret_sealed: row.previous_secret_sealed,
            previous_secret_expires_at: row.previous_secret_expires_at,
            failing_since: row.failing_since,
            disabled_reason: row.disabled_reason,
            created: row.created,
            updated: row.updated,
        })
    }
}

fn convert(rows: Vec<EndpointRow>) -> Result<Vec<WebhookEndpoint>, StoreError> {
    rows.into_iter().map(WebhookEndpoint::try_from).collect()
}

pub async fn insert(
    conn: &mut AnyConnection,
    endpoint: &WebhookEndpoint,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO webhook_endpoints ({COLUMNS}, deleted) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 0)"
    ))
    .bind(endpoint.id.as_str().to_owned())
    .bind(endpoint.account_id.as_str().to_owned())
    .bind(i64::from(endpoint.livemode))
    .bind(endpoint.url.clone())
    .bind(endpoint.description.clone())
    .bind(serde_json::to_string(&endpoint.enabled_events)?)
    .bind(i64::from(endpoint.connect))
    .bind(endpoint.api_version.clone())
    .bind(serde_json::to_string(&endpoint.metadata)?)
    .bind(endpoint.status.clone())
    .bind(endpoint.secret_sealed.clone())
    .bind(endpoint.previous_secret_sealed.clone())
    .bind(endpoint.previous_secret_expires_at)
    .bind(endpoint.failing_since)
    .bind(endpoint.disabled_reason.clone())
    .bind(endpoint.created)
    .bind(endpoint.updated)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back every field an update, a roll or a delivery may change.
pub async fn update(
    conn: &mut AnyConnection,
    endpoint: &WebhookEndpoint,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, description = $2, enabled_events = $3, \
         metadata = $4, status = $5, secret_sealed = $6, previous_secret_sealed = $7, \
         previous_secret_expires_at = $8, failing_since = $9, disabled_reason = $10, \
         updated = $11, api_version = $12 WHERE id = $13",
    )
    .bind(endpoint.url.clone())
    .bind(endpoint.description.clone())
    .bind(serde_json::to_string(&endpoint.enabled_events)?)
    .bind(serde_json::to_string(&endpoint.metadata)?)
    .bind(endpoint.status.clone())
    .bind(endpoint.secret_sealed.clone())
    .bind(endpoint.previous_secret_sealed.clone())
    .bind(endpoint.previous_secret_expires_at)
    .bind(endpoint.failing_since)
    .bind(endpoint.disabled_reason.clone())
    .bind(endpoint.updated)
    .bind(endpoint.api_version.clone())
    .bind(endpoint.id.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets when the endpoint's current run of failures began (`None` after a
/// success), touching nothing else an API call may be changing meanwhile.
pub async fn set_failing_since(
    conn: &mut AnyConnection,
    id: &WebhookEndpointId,
    failing_since: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2")
        .bind(failing_since)
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables an enabled endpoint for `reason`; false when it was not
/// enabled (already disabled or deleted meanwhile).
pub async fn disable_enabled(
    conn: &mut AnyConnection,
    id: &WebhookEndpointId,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $1, updated = $2 \
         WHERE id = $3 AND status = 'enabled' AND deleted = 0",
    )
    .bind(reason.to_owned())
    .bind(now)
    .bind(id.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Marks an endpoint deleted; its attempts stay for the record.
pub async fn delete(
    conn: &mut AnyConnection,
    id: &WebhookEndpointId,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET deleted = 1, status = 'disabled', updated = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// An account's endpoint, unless deleted.
pub async fn get(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    id: &str,
) -> Result<Option<WebhookEndpoint>, StoreError> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints \
         WHERE id = $1 AND account_id = $2 AND livemode = $3 AND deleted = 0"
    ))
    .bind(id.to_owned())
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .fetch_optional(pool)
    .await?;
    row.map(WebhookEndpoint::try_from).transpose()
}

/// The endpoints among `ids` that exist and are not deleted, for the
/// delivery worker.
pub async fn get_for_delivery(
    pool: &AnyPool,
    ids: &[&str],
) -> Result<Vec<WebhookEndpoint>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE deleted = 0 AND id IN ({})",
        numbered_placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, EndpointRow>(&sql);
    for id in ids {
        query = query.bind((*id).to_owned());
    }
    let rows = query.fetch_all(pool).await?;
    rows.into_iter().map(WebhookEndpoint::try_from).collect()
}

/// One page of an account's endpoints in one mode.
pub async fn list(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    page: &PageRequest,
) -> Result<Page<WebhookEndpoint>, StoreError> {
    let rows: Page<EndpointRow> = ListQuery::new("webhook_endpoints", COLUMNS)
        .eq("account_id", Bind::Text(account_id.as_str().to_owned()))
        .eq("livemode", Bind::Int(i64::from(livemode)))
        .eq("deleted", Bind::Int(0))
        .fetch(pool, page)
        .await?;
    Ok(Page {
        items: convert(rows.items)?,
        has_more: rows.has_more,
    })
}

/// The enabled endpoints that receive an event of `event_type` on
/// `account_id`: the account's own endpoints, and its platform's `connect`
/// endpoints when it is a connected account.
pub async fn subscribed(
    conn: &mut AnyConnection,
    account_id: &AccountId,
    platform_id: Option<&AccountId>,
    livemode: bool,
    event_type: &str,
) -> Result<Vec<WebhookEndpoint>, StoreError> {
    let platform = platform_id
        .map(|id| id.as_str().to_owned())
        .unwrap_or_default();
    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints \
         WHERE livemode = $1 AND status = 'enabled' AND deleted = 0 \
           AND ((account_id = $2 AND connect = 0) OR (account_id = $3 AND connect = 1))"
    ))
    .bind(i64::from(livemode))
    .bind(account_id.as_str().to_owned())
    .bind(platform)
    .fetch_all(conn)
    .await?;
    Ok(convert(rows)?
        .into_iter()
        .filter(|endpoint| endpoint.wants(event_type))
        .collect())
}

/// One delivery attempt, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub id: WebhookAttemptId,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: String,
    pub created: i64,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub response_head: Option<String>,
    pub succeeded: bool,
}

#[derive(FromRow)]
struct AttemptRow {
    id: String,
    endpoint_id: String,
    event_id: String,
    created: i64,
    status_code: Option<i64>,
    duration_ms: i64,
    error: Option<String>,
    response_head: Option<String>,
    succeeded: i64,
}

const ATTEMPT_COLUMNS: &str =
    "id, endpoint_id, event_id, created, status_code, duration_ms, error, response_head, succeeded";

impl From<AttemptRow> for Attempt {
    fn from(row: AttemptRow) -> Self {
        Self {
            id: WebhookAttemptId::from_stored(row.id),
            endpoint_id: WebhookEndpointId::from_stored(row.endpoint_id),
            event_id: row.event_id,
            created: row.created,
            status_code: row.status_code,
            duration_ms: row.duration_ms,
            error: row.error,
            response_head: row.response_head,
            succeeded: row.succeeded != 0,
        }
    }
}

/// Records an attempt.
pub async fn insert_attempt(conn: &mut AnyConnection, attempt: &Attempt) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(attempt.id.as_str().to_owned())
    .bind(attempt.endpoint_id.as_str().to_owned())
    .bind(attempt.event_id.clone())
    .bind(attempt.created)
    .bind(attempt.status_code)
    .bind(attempt.duration_ms)
    .bind(attempt.error.clone())
    .bind(attempt.response_head.clone())
    .bind(i64::from(attempt.succeeded))
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of an endpoint's attempts, newest first.
pub async fn list_attempts(
    pool: &AnyPool,
    endpoint_id: &WebhookEndpointId,
    page: &PageRequest,
) -> Result<Page<Attempt>, StoreError> {
    let rows: Page<AttemptRow> = ListQuery::new("webhook_attempts", ATTEMPT_COLUMNS)
        .eq("endpoint_id", Bind::Text(endpoint_id.as_str().to_owned()))
        .fetch(pool, page)
        .await?;
    Ok(rows.map(Attempt::from))
}

/// Marks one (event, endpoint) delivered, once: true the first time, when
/// the event's `pending_webhooks` is lowered too.
pub async fn mark_delivered(
    conn: &mut AnyConnection,
    event_id: &str,
    endpoint_id: &str,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'succeeded' \
         WHERE event_id = $1 AND endpoint_id = $2 AND state = 'pending'",
    )
    .bind(event_id.to_owned())
    .bind(endpoint_id.to_owned())
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE events SET pending_webhooks = pending_webhooks - 1 WHERE id = $1 AND pending_webhooks > 0")
        .bind(event_id.to_owned())
        .execute(conn)
        .await?;
    Ok(true)
}

/// Adds the (event, endpoint) pair to the pending deliveries unless present;
/// true when it was new.
pub async fn add_delivery(
    conn: &mut AnyConnection,
    event_id: &str,
    endpoint_id: &str,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, state) VALUES ($1, $2, 'pending') \
         ON CONFLICT DO NOTHING",
    )
    .bind(event_id.to_owned())
    .bind(endpoint_id.to_owned())
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Deletes attempts older than `before`; returns how many.
pub async fn purge_attempts(db: &Db, before: i64) -> Result<u64, StoreError> {
    let mut tx = db.write().await?;
    let result = sqlx::query("DELETE FROM webhook_attempts WHERE created < $1")
        .bind(before)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}
