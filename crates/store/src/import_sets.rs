//! The `import_sets` table: one row per catalog import, with its status and
//! its `result` (JSON, live progress while pending).

use mercato_core::ids::{AccountId, ImportSetId};
use serde_json::Value;
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::list::{Bind, ListQuery, Page, PageRequest};
use crate::StoreError;

/// The job kind that processes one ImportSet.
pub const IMPORT_JOB: &str = "catalog.import";

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const SUCCEEDED_WITH_ERRORS: &str = "succeeded_with_errors";
pub const FAILED: &str = "failed";
pub const ARCHIVED: &str = "archived";

/// An ImportSet as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportSet {
    pub seq: i64,
    pub id: ImportSetId,
    pub account_id: AccountId,
    pub livemode: bool,
    pub file_id: String,
    pub standard_data_format: String,
    /// `upsert` or `replace`.
    pub mode: String,
    pub validate_only: bool,
    pub status: String,
    pub failed_reason: Option<String>,
    pub result: Value,
    pub created: i64,
    pub updated: i64,
}

const COLUMNS: &str = "seq, id, account_id, livemode, file_id, standard_data_format, mode, \
    validate_only, status, failed_reason, result, created, updated";

#[derive(FromRow)]
struct ImportSetRow {
    seq: i64,
    id: String,
    account_id: String,
    livemode: i64,
    file_id: String,
    standard_data_format: String,
    mode: String,
    validate_only: i64,
    status: String,
    failed_reason: Option<String>,
    result: String,
    created: i64,
    updated: i64,
}

impl TryFrom<ImportSetRow> for ImportSet {
    type Error = StoreError;

    fn try_from(row: ImportSetRow) -> Result<Self, StoreError> {
        Ok(Self {
            seq: row.seq,
            id: ImportSetId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            livemode: row.livemode != 0,
            file_id: row.file_id,
            standard_data_format: row.standard_data_format,
            mode: row.mode,
            validate_only: row.validate_only != 0,
            status: row.status,
            failed_reason: row.failed_reason,
            result: serde_json::from_str(&row.result)?,
            created: row.created,
            updated: row.updated,
        })
    }
}

/// Adds an ImportSet; returns it with its `seq`.
pub async fn insert(
    conn: &mut AnyConnection,
    import_set: &ImportSet,
) -> Result<ImportSet, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO import_sets (id, account_id, livemode, file_id, standard_data_format, mode, \
         validate_only, status, failed_reason, result, created, updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq",
    )
    .bind(import_set.id.as_str().to_owned())
    .bind(import_set.account_id.as_str().to_owned())
    .bind(i64::from(import_set.livemode))
    .bind(import_set.file_id.clone())
    .bind(import_set.standard_data_format.clone())
    .bind(import_set.mode.clone())
    .bind(i64::from(import_set.validate_only))
    .bind(import_set.status.clone())
    .bind(import_set.failed_reason.clone())
    .bind(import_set.result.to_string())
    .bind(import_set.created)
    .bind(import_set.updated)
    .fetch_one(conn)
    .await?;
    Ok(ImportSet {
        seq,
        ..import_set.clone()
    })
}

/// Writes status, reason and result.
pub async fn update_outcome(
    conn: &mut AnyConnection,
    id: &ImportSetId,
    status: &str,
    failed_reason: Option<&str>,
    result: &Value,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE import_sets SET status = $1, failed_reason = $2, result = $3, updated = $4 \
         WHERE id = $5",
    )
    .bind(status.to_owned())
    .bind(failed_reason.map(str::to_owned))
    .bind(result.to_string())
    .bind(now)
    .bind(id.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// An account's ImportSet in one mode.
pub async fn get(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    id: &str,
) -> Result<Option<ImportSet>, StoreError> {
    let row: Option<ImportSetRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM import_sets WHERE id = $1 AND account_id = $2 AND livemode = $3"
    ))
    .bind(id.to_owned())
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .fetch_optional(pool)
    .await?;
    row.map(ImportSet::try_from).transpose()
}

/// An ImportSet by id alone, for the import worker.
pub async fn get_for_processing(pool: &AnyPool, id: &str) -> Result<Option<ImportSet>, StoreError> {
    let row: Option<ImportSetRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM import_sets WHERE id = $1"))
            .bind(id.to_owned())
            .fetch_optional(pool)
            .await?;
    row.map(ImportSet::try_from).transpose()
}

/// Whether an older ImportSet of the same account and mode is still
/// pending: ImportSets apply one at a time, in creation order.
pub async fn has_earlier_pending(
    pool: &AnyPool,
    import_set: &ImportSet,
) -> Result<bool, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM import_sets \
         WHERE account_id = $1 AND livemode = $2 AND status = 'pending' AND seq < $3",
    )
    .bind(import_set.account_id.as_str().to_owned())
    .bind(i64::from(import_set.livemode))
    .bind(import_set.seq)
    .fetch_one(pool)
    .await?;
    Ok(count > 0)
}

/// When the newest ImportSet of this account, mode and format was created.
pub async fn latest_created(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    standard_data_format: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(created) FROM import_sets \
         WHERE account_id = $1 AND livemode = $2 AND standard_data_format = $3",
    )
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .bind(standard_data_format.to_owned())
    .fetch_one(pool)
    .await?)
}

/// Filters of the list endpoint.
#[derive(Clone, Debug, Default)]
pub struct ImportSetFilter {
    pub status: Option<String>,
    pub standard_data_format: Option<String>,
}

/// One page of an account's ImportSets.
pub async fn list(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    filter: &ImportSetFilter,
    page: &PageRequest,
) -> Result<Page<ImportSet>, StoreError> {
    let mut query = ListQuery::new("import_sets", COLUMNS)
        .eq("account_id", Bind::Text(account_id.as_str().to_owned()))
        .eq("livemode", Bind::Int(i64::from(livemode)));
    if let Some(status) = &filter.status {
        query = query.eq("status", Bind::Text(status.clone()));
    }
    if let Some(format) = &filter.standard_data_format {
        query = query.eq("standard_data_format", Bind::Text(format.clone()));
    }
    let rows: Page<ImportSetRow> = query.fetch(pool, page).await?;
    Ok(Page {
        items: rows
            .items
            .into_iter()
            .map(ImportSet::try_from)
            .collect::<Result<_, _>>()?,
        has_more: rows.has_more,
    })
}
