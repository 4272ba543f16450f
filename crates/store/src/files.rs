//! The `files` table: one row per uploaded file; the bytes live in the blob
//! store under `blob_key`.

use mercato_core::ids::{AccountId, FileId};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::list::{Bind, ListQuery, Page, PageRequest};
use crate::StoreError;

/// A stored file's record.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredFile {
    pub id: FileId,
    pub account_id: AccountId,
    pub livemode: bool,
    pub purpose: String,
    pub filename: Option<String>,
    pub title: Option<String>,
    /// The short type shown on the wire: `csv`, `tsv`, `pdf`, `png`, ...
    pub file_type: String,
    /// The MIME type the contents are served with.
    pub mime_type: String,
    pub size: i64,
    pub sha256: String,
    pub blob_key: String,
    pub created: i64,
    pub expires_at: Option<i64>,
}

const COLUMNS: &str = "id, account_id, livemode, purpose, filename, title, file_type, \
    mime_type, size, sha256, blob_key, created, expires_at";

#[derive(FromRow)]
struct FileRow {
    id: String,
    account_id: String,
    livemode: i64,
    purpose: String,
    filename: Option<String>,
    title: Option<String>,
    file_type: String,
    mime_type: String,
    size: i64,
    sha256: String,
    blob_key: String,
    created: i64,
    expires_at: Option<i64>,
}

impl From<FileRow> for StoredFile {
    fn from(row: FileRow) -> Self {
        Self {
            id: FileId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            livemode: row.livemode != 0,
            purpose: row.purpose,
            filename: row.filename,
            title: row.title,
            file_type: row.file_type,
            mime_type: row.mime_type,
            size: row.size,
            sha256: row.sha256,
            blob_key: row.blob_key,
            created: row.created,
            expires_at: row.expires_at,
        }
    }
}

pub async fn insert(conn: &mut AnyConnection, file: &StoredFile) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO files ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(file.id.as_str().to_owned())
    .bind(file.account_id.as_str().to_owned())
    .bind(i64::from(file.livemode))
    .bind(file.purpose.clone())
    .bind(file.filename.clone())
    .bind(file.title.clone())
    .bind(file.file_type.clone())
    .bind(file.mime_type.clone())
    .bind(file.size)
    .bind(file.sha256.clone())
    .bind(file.blob_key.clone())
    .bind(file.created)
    .bind(file.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes an account's file record; returns its blob key so the caller can
/// delete the bytes once the transaction commits.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &AccountId,
    id: &str,
) -> Result<Option<String>, StoreError> {
    let key: Option<String> = sqlx::query_scalar(
        "DELETE FROM files WHERE id = $1 AND account_id = $2 RETURNING blob_key",
    )
    .bind(id.to_owned())
    .bind(account_id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    Ok(key)
}

/// The file with this id if it belongs to this account and mode.
pub async fn get(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    id: &str,
) -> Result<Option<StoredFile>, StoreError> {
    let row: Option<FileRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM files WHERE id = $1 AND account_id = $2 AND livemode = $3"
    ))
    .bind(id.to_owned())
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(StoredFile::from))
}

/// One page of an account's files in one mode, optionally of one purpose.
pub async fn list(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    purpose: Option<&str>,
    page: &PageRequest,
) -> Result<Page<StoredFile>, StoreError> {
    let mut query = ListQuery::new("files", COLUMNS)
        .eq("account_id", Bind::Text(account_id.as_str().to_owned()))
        .eq("livemode", Bind::Int(i64::from(livemode)));
    if let Some(purpose) = purpose {
        query = query.eq("purpose", Bind::Text(purpose.to_owned()));
    }
    let rows: Page<FileRow> = query.fetch(pool, page).await?;
    Ok(rows.map(StoredFile::from))
}
