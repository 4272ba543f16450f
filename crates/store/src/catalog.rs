//! The catalog: products as the store keeps them, and the staging area an
//! ImportSet fills before it applies.
//!
//! An import first writes its valid rows to `catalog_staging`, in small
//! transactions that do not hold up other writers. Applying is then a few
//! set-based statements in one transaction, so readers see the catalog
//! either wholly before or wholly after the ImportSet. A crash before that
//! transaction leaves the catalog untouched; the retried import clears its
//! staging rows and starts again.

use mercato_core::ids::AccountId;
use serde_json::Value;
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::list::{Bind, ListQuery, Op, Page, PageRequest};
use crate::{numbered_placeholders, Backend, StoreError, WriteTx};

/// Rows per staging `INSERT`; 7 values each stays far below both backends'
/// parameter limits.
const STAGING_BATCH: usize = 400;

/// What a staged row does when applied.
#[derive(Clone, Debug, PartialEq)]
pub enum StagedChange {
    /// Insert or replace the product.
    Upsert {
        product_id: String,
        item_group_id: Option<String>,
        availability: String,
        inventory_quantity: Option<i64>,
        data: String,
    },
    /// Remove the product.
    Delete { product_id: String },
    /// Set the product's stock and availability; `data` is the product's
    /// JSON with both already changed.
    Inventory {
        product_id: String,
        inventory_quantity: i64,
        availability: String,
        data: String,
    },
}

/// The staging columns of one change.
struct StagedRow<'a> {
    product_id: &'a str,
    action: &'static str,
    item_group_id: Option<&'a str>,
    availability: Option<&'a str>,
    inventory_quantity: Option<i64>,
    data: Option<&'a str>,
}

impl StagedChange {
    fn row(&self) -> StagedRow<'_> {
        match self {
            StagedChange::Upsert {
                product_id,
                item_group_id,
                availability,
                inventory_quantity,
                data,
            } => StagedRow {
                product_id,
                action: "upsert",
                item_group_id: item_group_id.as_deref(),
                availability: Some(availability),
                inventory_quantity: *inventory_quantity,
                data: Some(data),
            },
            StagedChange::Delete { product_id } => StagedRow {
                product_id,
                action: "delete",
                item_group_id: None,
                availability: None,
                inventory_quantity: None,
                data: None,
            },
            StagedChange::Inventory {
                product_id,
                inventory_quantity,
                availability,
                data,
            } => StagedRow {
                product_id,
                action: "inventory",
                item_group_id: None,
                availability: Some(availability),
                inventory_quantity: Some(*inventory_quantity),
                data: Some(data),
            },
        }
    }
}

/// Removes an import's staging rows (before a retry, and after applying).
pub async fn clear_staging(
    conn: &mut AnyConnection,
    import_set_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM catalog_staging WHERE import_set_id = $1")
        .bind(import_set_id.to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Stages changes for an import, in multi-row inserts.
///
/// On SQLite the placeholders are plain `?`: sqlx looks each numbered
/// parameter up by name, which SQLite does by walking the list of names, so
/// numbered parameters make a large multi-row insert quadratic.
pub async fn stage(
    conn: &mut AnyConnection,
    backend: Backend,
    import_set_id: &str,
    changes: &[StagedChange],
) -> Result<(), StoreError> {
    for chunk in changes.chunks(STAGING_BATCH) {
        let placeholders: Vec<String> = (0..chunk.len())
            .map(|row| {
                let base = row * 7;
                let numbers: Vec<String> = (1..=7)
                    .map(|column| match backend {
                        Backend::Sqlite => "?".to_owned(),
                        Backend::Postgres => format!("${}", base + column),
                    })
                    .collect();
                format!("({})", numbers.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO catalog_staging (import_set_id, product_id, action, item_group_id, \
             availability, inventory_quantity, data) VALUES {}",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for change in chunk {
            let row = change.row();
            query = query
                .bind(import_set_id.to_owned())
                .bind(row.product_id.to_owned())
                .bind(row.action)
                .bind(row.item_group_id.map(str::to_owned))
                .bind(row.availability.map(str::to_owned))
                .bind(row.inventory_quantity)
                .bind(row.data.map(str::to_owned));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The stored JSON of each of `product_ids` that exists, by id.
pub async fn current_data(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    product_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut found = Vec::new();
    for chunk in product_ids.chunks(STAGING_BATCH) {
        let sql = format!(
            "SELECT product_id, data FROM catalog_products \
             WHERE account_id = $1 AND livemode = $2 AND product_id IN ({})",
            numbered_placeholders(3, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql)
            .bind(account_id.as_str().to_owned())
            .bind(i64::from(livemode));
        for id in chunk {
            query = query.bind(id.clone());
        }
        found.extend(query.fetch_all(pool).await?);
    }
    Ok(found)
}

/// Counts of what applying did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// Applies an import's staged changes in `tx`; with `replace`, every
/// product the import does not name is removed too. Statements for actions
/// the import did not stage are skipped. The staging rows are left for
/// [`clear_staging`] after the commit, so that removing them does not hold
/// up the import's outcome.
pub async fn apply_staged(
    tx: &mut WriteTx,
    account_id: &AccountId,
    livemode: bool,
    import_set_id: &str,
    replace: bool,
    now: i64,
) -> Result<Applied, StoreError> {
    let account = account_id.as_str().to_owned();
    let mode = i64::from(livemode);
    let staged = staged_counts(tx, import_set_id).await?;
    let mut applied = Applied::default();
    if staged.upserts > 0 {
        applied = apply_upserts(tx, &account, mode, import_set_id, now).await?;
    }
    if staged.inventory > 0 {
        apply_inventory(tx, &account, mode, import_set_id, now).await?;
    }
    if replace || staged.deletes > 0 {
        applied.deleted = apply_removals(tx, &account, mode, import_set_id, replace).await?;
    }
    Ok(applied)
}

/// How many staged rows of each action an import has.
#[derive(Default)]
struct StagedCounts {
    upserts: i64,
    deletes: i64,
    inventory: i64,
}

async fn staged_counts(tx: &mut WriteTx, import_set_id: &str) -> Result<StagedCounts, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, COUNT(*) FROM catalog_staging WHERE import_set_id = $1 GROUP BY action",
    )
    .bind(import_set_id.to_owned())
    .fetch_all(tx.conn())
    .await?;
    let mut counts = StagedCounts::default();
    for (action, count) in rows {
        match action.as_str() {
            "upsert" => counts.upserts = count,
            "delete" => counts.deletes = count,
            _ => counts.inventory = count,
        }
    }
    Ok(counts)
}

async fn apply_upserts(
    tx: &mut WriteTx,
    account: &str,
    mode: i64,
    import_set_id: &str,
    now: i64,
) -> Result<Applied, StoreError> {
    let updated: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM catalog_staging s JOIN catalog_products p \
         ON p.account_id = $1 AND p.livemode = $2 AND p.product_id = s.product_id \
         WHERE s.import_set_id = $3 AND s.action = 'upsert'",
    )
    .bind(account.to_owned())
    .bind(mode)
    .bind(import_set_id.to_owned())
    .fetch_one(tx.conn())
    .await?;
    let upserted = sqlx::query(
        "INSERT INTO catalog_products (account_id, livemode, product_id, item_group_id, \
         availability, inventory_quantity, data, created, updated) \
         SELECT $1, $2, product_id, item_group_id, availability, inventory_quantity, data, $3, $3 \
         FROM catalog_staging WHERE import_set_id = $4 AND action = 'upsert' \
         ON CONFLICT (account_id, livemode, product_id) DO UPDATE SET \
         item_group_id = excluded.item_group_id, availability = excluded.availability, \
         inventory_quantity = excluded.inventory_quantity, data = excluded.data, \
         updated = excluded.updated",
    )
    .bind(account.to_owned())
    .bind(mode)
    .bind(now)
    .bind(import_set_id.to_owned())
    .execute(tx.conn())
    .await?
    .rows_affected();
    let upserted = i64::try_from(upserted).unwrap_or(i64::MAX);
    Ok(Applied {
        created: upserted - updated,
        updated,
        deleted: 0,
    })
}

async fn apply_inventory(
    tx: &mut WriteTx,
    account: &str,
    mode: i64,
    import_set_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE catalog_products SET \
         inventory_quantity = (SELECT s.inventory_quantity FROM catalog_staging s \
           WHERE s.import_set_id = $1 AND s.action = 'inventory' AND s.product_id = catalog_products.product_id), \
         availability = (SELECT s.availability FROM catalog_staging s \
           WHERE s.import_set_id = $1 AND s.action = 'inventory' AND s.product_id = catalog_products.product_id), \
         data = (SELECT s.data FROM catalog_staging s \
           WHERE s.import_set_id = $1 AND s.action = 'inventory' AND s.product_id = catalog_products.product_id), \
         updated = $2 \
         WHERE account_id = $3 AND livemode = $4 AND product_id IN \
           (SELECT product_id FROM catalog_staging WHERE import_set_id = $1 AND action = 'inventory')",
    )
    .bind(import_set_id.to_owned())
    .bind(now)
    .bind(account.to_owned())
    .bind(mode)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn apply_removals(
    tx: &mut WriteTx,
    account: &str,
    mode: i64,
    import_set_id: &str,
    replace: bool,
) -> Result<i64, StoreError> {
    let removal = if replace {
        "DELETE FROM catalog_products WHERE account_id = $1 AND livemode = $2 AND product_id NOT IN \
         (SELECT product_id FROM catalog_staging WHERE import_set_id = $3 AND action = 'upsert')"
    } else {
        "DELETE FROM catalog_products WHERE account_id = $1 AND livemode = $2 AND product_id IN \
         (SELECT product_id FROM catalog_staging WHERE import_set_id = $3 AND action = 'delete')"
    };
    let deleted = sqlx::query(removal)
        .bind(account.to_owned())
        .bind(mode)
        .bind(import_set_id.to_owned())
        .execute(tx.conn())
        .await?
        .rows_affected();
    Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
}

/// A product as stored: its cleaned feed data and bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredProduct {
    pub product_id: String,
    pub livemode: bool,
    pub data: Value,
    pub created: i64,
    pub updated: i64,
}

const COLUMNS: &str = "product_id, livemode, data, created, updated";

#[derive(FromRow)]
struct ProductRow {
    product_id: String,
    livemode: i64,
    data: String,
    created: i64,
    updated: i64,
}

impl TryFrom<ProductRow> for StoredProduct {
    type Error = StoreError;

    fn try_from(row: ProductRow) -> Result<Self, StoreError> {
        Ok(Self {
            product_id: row.product_id,
            livemode: row.livemode != 0,
            data: serde_json::from_str(&row.data)?,
            created: row.created,
            updated: row.updated,
        })
    }
}

/// One product of an account's catalog.
pub async fn get(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    product_id: &str,
) -> Result<Option<StoredProduct>, StoreError> {
    let row: Option<ProductRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM catalog_products WHERE account_id = $1 AND livemode = $2 AND product_id = $3"
    ))
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .bind(product_id.to_owned())
    .fetch_optional(pool)
    .await?;
    row.map(StoredProduct::try_from).transpose()
}

/// Filters of the product list.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    pub availability: Option<String>,
    pub item_group_id: Option<String>,
    pub updated: Vec<(Op, i64)>,
}

/// How many products an account has in one mode.
pub async fn count(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM catalog_products WHERE account_id = $1 AND livemode = $2",
    )
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .fetch_one(pool)
    .await?)
}

/// One page of an account's products. The cursor is the product's feed id.
pub async fn list(
    pool: &AnyPool,
    account_id: &AccountId,
    livemode: bool,
    filter: &ProductFilter,
    page: &PageRequest,
) -> Result<Page<StoredProduct>, StoreError> {
    let mut query = ListQuery::new("catalog_products", COLUMNS)
        .with_id_column("product_id")
        .eq("account_id", Bind::Text(account_id.as_str().to_owned()))
        .eq("livemode", Bind::Int(i64::from(livemode)));
    if let Some(availability) = &filter.availability {
        query = query.eq("availability", Bind::Text(availability.clone()));
    }
    if let Some(group) = &filter.item_group_id {
        query = query.eq("item_group_id", Bind::Text(group.clone()));
    }
    for (op, seconds) in &filter.updated {
        query = query.filter("updated", *op, Bind::Int(*seconds));
    }
    let rows: Page<ProductRow> = query.fetch(pool, page).await?;
    Ok(Page {
        items: rows
            .items
            .into_iter()
            .map(StoredProduct::try_from)
            .collect::<Result<_, _>>()?,
        has_more: rows.has_more,
    })
}
