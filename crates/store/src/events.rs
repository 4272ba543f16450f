//! Events: the outbox. An event is written in the same transaction as the
//! change it reports, together with one delivery job per subscribed webhook
//! endpoint, so an event exists exactly when its change committed and every
//! endpoint that should hear of it will.

use mercato_core::ids::{AccountId, EventId};
use mercato_core::time::now_unix_millis;
use serde_json::{json, Value};
use sqlx::{AnyPool, FromRow};

use crate::list::{Bind, ListQuery, Op, Page, PageRequest};
use crate::{jobs, numbered_placeholders, webhooks, Db, StoreError, WriteTx};

/// The job kind that delivers one event to one endpoint.
pub const DELIVERY_JOB: &str = "webhook.deliver";

/// What caused an event: the API request, if any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestInfo {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// An event about to be recorded.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub account_id: AccountId,
    /// The platform of a connected account, whose `connect` endpoints
    /// receive the event too.
    pub platform_id: Option<AccountId>,
    pub livemode: bool,
    pub event_type: String,
    pub object: Value,
    pub previous_attributes: Option<Value>,
    pub request: RequestInfo,
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub seq: i64,
    pub id: EventId,
    pub account_id: AccountId,
    pub platform_id: Option<AccountId>,
    pub livemode: bool,
    pub event_type: String,
    pub api_version: String,
    pub created: i64,
    pub created_ms: i64,
    pub object: Value,
    pub previous_attributes: Option<Value>,
    pub request: RequestInfo,
    pub pending_webhooks: i64,
}

const COLUMNS: &str = "seq, id, account_id, platform_id, livemode, event_type, api_version, \
    created, created_ms, data_object, previous_attributes, request_id, idempotency_key, \
    pending_webhooks";

#[derive(FromRow)]
struct EventRow {
    seq: i64,
    id: String,
    account_id: String,
    platform_id: Option<String>,
    livemode: i64,
    event_type: String,
    api_version: String,
    created: i64,
    created_ms: i64,
    data_object: String,
    previous_attributes: Option<String>,
    request_id: Option<String>,
    idempotency_key: Option<String>,
    pending_webhooks: i64,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(Self {
            seq: row.seq,
            id: EventId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            platform_id: row.platform_id.map(AccountId::from_stored),
            livemode: row.livemode != 0,
            event_type: row.event_type,
            api_version: row.api_version,
            created: row.created,
            created_ms: row.created_ms,
            object: serde_json::from_str(&row.data_object)?,
            previous_attributes: row
                .previous_attributes
                .map(|text| serde_json::from_str(&text))
                .transpose()?,
            request: RequestInfo {
                id: row.request_id,
                idempotency_key: row.idempotency_key,
            },
            pending_webhooks: row.pending_webhooks,
        })
    }
}

fn convert(rows: Vec<EventRow>) -> Result<Vec<Event>, StoreError> {
    rows.into_iter().map(Event::try_from).collect()
}

/// Records an event in `tx` and enqueues its deliveries.
pub async fn record(
    tx: &mut WriteTx,
    new: NewEvent,
    api_version: &str,
) -> Result<Event, StoreError> {
    let endpoints = webhooks::subscribed(
        tx.conn(),
        &new.account_id,
        new.platform_id.as_ref(),
        new.livemode,
        &new.event_type,
    )
    .await?;
    let created_ms = now_unix_millis();
    let id = EventId::generate();
    let pending = i64::try_from(endpoints.len()).unwrap_or(i64::MAX);

    let seq: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO events ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         RETURNING seq",
        COLUMNS.trim_start_matches("seq, ")
    ))
    .bind(id.as_str().to_owned())
    .bind(new.account_id.as_str().to_owned())
    .bind(new.platform_id.as_ref().map(|id| id.as_str().to_owned()))
    .bind(i64::from(new.livemode))
    .bind(new.event_type.clone())
    .bind(api_version.to_owned())
    .bind(created_ms / 1000)
    .bind(created_ms)
    .bind(serde_json::to_string(&new.object)?)
    .bind(new.previous_attributes.as_ref().map(Value::to_string))
    .bind(new.request.id.clone())
    .bind(new.request.idempotency_key.clone())
    .bind(pending)
    .fetch_one(tx.conn())
    .await?;

    for endpoint in &endpoints {
        enqueue_delivery(tx, id.as_str(), endpoint.id.as_str(), created_ms).await?;
    }
    Ok(Event {
        seq,
        id,
        account_id: new.account_id,
        platform_id: new.platform_id,
        livemode: new.livemode,
        event_type: new.event_type,
        api_version: api_version.to_owned(),
        created: created_ms / 1000,
        created_ms,
        object: new.object,
        previous_attributes: new.previous_attributes,
        request: new.request,
        pending_webhooks: pending,
    })
}

/// Queues one more delivery of an event to an endpoint (a first delivery,
/// or a manual resend).
pub async fn enqueue_delivery(
    tx: &mut WriteTx,
    event_id: &str,
    endpoint_id: &str,
    run_at_ms: i64,
) -> Result<(), StoreError> {
    webhooks::add_delivery(tx.conn(), event_id, endpoint_id).await?;
    let payload = json!({ "event_id": event_id, "endpoint_id": endpoint_id });
    jobs::enqueue(tx, DELIVERY_JOB, &payload, run_at_ms).await?;
    Ok(())
}

/// An event of this account and mode.
pub async fn get(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    id: &str,
) -> Result<Option<Event>, StoreError> {
    let row: Option<EventRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE id = $1 AND account_id = $2 AND livemode = $3"
    ))
    .bind(id.to_owned())
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .fetch_optional(pool)
    .await?;
    row.map(Event::try_from).transpose()
}

/// The events among `ids` that exist, for the delivery worker.
pub async fn get_for_delivery(pool: &AnyPool, ids: &[&str]) -> Result<Vec<Event>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE id IN ({})",
        numbered_placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, EventRow>(&sql);
    for id in ids {
        query = query.bind((*id).to_owned());
    }
    let rows = query.fetch_all(pool).await?;
    rows.into_iter().map(Event::try_from).collect()
}

/// Filters of `GET /v1/events`.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub types: Vec<String>,
    /// `(operator, unix seconds)` pairs on `created`.
    pub created: Vec<(Op, i64)>,
}

/// One page of an account's events in one mode.
pub async fn list(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    filter: &EventFilter,
    page: &PageRequest,
) -> Result<Page<Event>, StoreError> {
    let mut query = ListQuery::new("events", COLUMNS)
        .eq("account_id", Bind::Text(account_id.as_str().to_owned()))
        .eq("livemode", Bind::Int(i64::from(livemode)))
        .one_of(
            "event_type",
            filter.types.iter().cloned().map(Bind::Text).collect(),
        );
    for (op, seconds) in &filter.created {
        query = query.filter("created", *op, Bind::Int(*seconds));
    }
    let rows: Page<EventRow> = query.fetch(pool, page).await?;
    Ok(Page {
        items: convert(rows.items)?,
        has_more: rows.has_more,
    })
}

/// Events for a live stream: the account's own and, with `connect`, those
/// of its connected accounts too, oldest first. Returns those after
/// `after_seq` and also those created since `rescan_since` (Unix seconds):
/// on PostgreSQL, transactions commit out of `seq` order, so a stream must
/// look back a little to catch an event that committed after a later one.
pub async fn stream_after(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    connect: bool,
    after_seq: i64,
    rescan_since: i64,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let scope = if connect {
        "(account_id = $1 OR platform_id = $1)"
    } else {
        "account_id = $1"
    };
    let rows: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE {scope} AND livemode = $2 \
         AND (seq > $3 OR created >= $4) ORDER BY seq LIMIT $5"
    ))
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .bind(after_seq)
    .bind(rescan_since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    convert(rows)
}

/// The newest event's `seq`, or 0: where a live stream starts.
pub async fn latest_seq(pool: &AnyPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(pool)
            .await?,
    )
}

/// Deletes events created before `before` (and their delivery state);
/// returns how many events.
pub async fn purge_older_than(db: &Db, before: i64) -> Result<u64, StoreError> {
    let mut tx = db.write().await?;
    sqlx::query(
        "DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM events WHERE created < $1)",
    )
    .bind(before)
    .execute(tx.conn())
    .await?;
    let result = sqlx::query("DELETE FROM events WHERE created < $1")
        .bind(before)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}
