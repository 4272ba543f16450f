//! The catalog: products as the store keeps them, and the writes an
//! ImportSet makes.
//!
//! An import writes every change straight into `catalog_products` inside one
//! transaction that also records its outcome, so readers see the catalog
//! either wholly before or wholly after the ImportSet, and a crash leaves it
//! untouched. Writing once, in multi-row statements, keeps a large import
//! close to the speed of a plain bulk load. On SQLite that transaction holds
//! the only writer turn while the import runs; on PostgreSQL other writers
//! go on beside it.
//!
//! A product's stock lives beside it in `catalog_stock`, a narrow row per
//! product that product feeds and inventory feeds both write, so that an
//! inventory feed never touches the product's own row. Readers see both
//! through the `catalog_products_current` view.

use std::collections::HashSet;

use mercato_core::ids::AccountId;
use serde_json::Value;
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::list::{Bind, ListQuery, Op, Page, PageRequest};
use crate::{Backend, StoreError, WriteTx};

/// Rows per multi-row statement. At 3 values a row this stays below both
/// backends' parameter limits (32,766 on SQLite, 65,535 on PostgreSQL).
/// Large statements matter on SQLite, which copies every page a statement
/// touches into the statement's journal first: at 250 rows a statement, a
/// 400,000-row import took about 1.5 s longer.
const ROWS_PER_STATEMENT: usize = 2_000;

/// Stock changes staged per statement: 6 values each.
const STOCK_ROWS_PER_STATEMENT: usize = 1_000;

/// Where an import writes: one account's catalog in one mode, inside the
/// import's transaction.
#[derive(Clone, Copy, Debug)]
pub struct ImportScope<'a> {
    pub account_id: &'a AccountId,
    pub livemode: bool,
    pub import_set_id: &'a str,
    /// Unix seconds, for `created` and `updated`.
    pub now: i64,
}

impl ImportScope<'_> {
    fn account(&self) -> String {
        self.account_id.as_str().to_owned()
    }

    fn mode(&self) -> i64 {
        i64::from(self.livemode)
    }
}

/// A product as an import writes it; `data` is its cleaned feed fields as
/// JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductWrite {
    pub product_id: String,
    pub item_group_id: Option<String>,
    pub availability: String,
    pub inventory_quantity: Option<i64>,
    pub data: String,
}

/// New stock for a product that exists.
#[derive(Clone, Debug, PartialEq)]
pub struct StockWrite {
    pub product_id: String,
    pub inventory_quantity: i64,
    pub availability: NextAvailability,
}

/// The availability a stock change leads to, for each availability the
/// product may have now. The update picks one in SQL, so that stock is
/// written without reading every product back first.
#[derive(Clone, Debug, PartialEq)]
pub struct NextAvailability {
    pub from_in_stock: String,
    pub from_out_of_stock: String,
    pub from_preorder: String,
    pub from_backorder: String,
}

/// Counts of what an import did to the catalog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// Placeholders numbered in the order they are written: `?` on SQLite,
/// where sqlx would look each numbered one up by name, which SQLite does by
/// walking the list of names (quadratic in a long multi-row statement);
/// `$N` on PostgreSQL. Binds must follow the order of the text.
struct Placeholders {
    backend: Backend,
    next: usize,
}

impl Placeholders {
    fn new(backend: Backend) -> Self {
        Self { backend, next: 1 }
    }

    fn one(&mut self) -> String {
        let number = self.next;
        self.next += 1;
        match self.backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${number}"),
        }
    }

    /// `count` placeholders separated by commas.
    fn list(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| self.one())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(…), (…)`: `rows` groups of `columns` placeholders.
    fn groups(&mut self, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Inserts or replaces products, marking each as written by this import.
/// How many of them were new is found by [`count`] before and after.
pub async fn upsert_products(
    tx: &mut WriteTx,
    scope: ImportScope<'_>,
    products: Vec<ProductWrite>,
) -> Result<(), StoreError> {
    let mut products = products.into_iter().peekable();
    while products.peek().is_some() {
        let chunk: Vec<ProductWrite> = products.by_ref().take(ROWS_PER_STATEMENT).collect();
        upsert_chunk(tx, scope, chunk).await?;
    }
    Ok(())
}

/// One multi-row upsert of products, then of their stock. The values carry
/// only each product's own columns; the account, mode, import and time are
/// bound once.
async fn upsert_chunk(
    tx: &mut WriteTx,
    scope: ImportScope<'_>,
    chunk: Vec<ProductWrite>,
) -> Result<(), StoreError> {
    let mut placeholders = Placeholders::new(tx.backend());
    let fixed = placeholders.list(5);
    let sql = format!(
        "INSERT INTO catalog_products (account_id, livemode, import_set_id, created, updated, \
         product_id, item_group_id, data) \
         SELECT {fixed}, v.column1, v.column2, v.column3 \
         FROM (VALUES {}) AS v WHERE true \
         ON CONFLICT (account_id, livemode, product_id) DO UPDATE SET \
         item_group_id = excluded.item_group_id, data = excluded.data, \
         import_set_id = excluded.import_set_id, updated = excluded.updated",
        placeholders.groups(chunk.len(), 3)
    );
    let mut query = sqlx::query(&sql)
        .bind(scope.account())
        .bind(scope.mode())
        .bind(scope.import_set_id.to_owned())
        .bind(scope.now)
        .bind(scope.now);
    let mut stock = Vec::with_capacity(chunk.len());
    for product in chunk {
        let id = product.product_id.clone();
        stock.push((id, product.availability, product.inventory_quantity));
        query = query
            .bind(product.product_id)
            .bind(product.item_group_id)
            .bind(product.data);
    }
    query.execute(tx.conn()).await?;

    upsert_stock_chunk(tx, scope, stock).await
}

/// The stock that a product feed gives its products, replacing whatever an
/// inventory feed had set.
async fn upsert_stock_chunk(
    tx: &mut WriteTx,
    scope: ImportScope<'_>,
    stock: Vec<(String, String, Option<i64>)>,
) -> Result<(), StoreError> {
    let mut placeholders = Placeholders::new(tx.backend());
    let fixed = placeholders.list(3);
    let sql = format!(
        "INSERT INTO catalog_stock (account_id, livemode, updated, product_id, availability, \
         inventory_quantity) \
         SELECT {fixed}, v.column1, v.column2, v.column3 FROM (VALUES {}) AS v WHERE true \
         ON CONFLICT (account_id, livemode, product_id) DO UPDATE SET \
         availability = excluded.availability, inventory_quantity = excluded.inventory_quantity, \
         updated = excluded.updated",
        placeholders.groups(stock.len(), 3)
    );
    let mut query = sqlx::query(&sql)
        .bind(scope.account())
        .bind(scope.mode())
        .bind(scope.now);
    for (product_id, availability, inventory_quantity) in stock {
        query = query
            .bind(product_id)
            .bind(availability)
            .bind(inventory_quantity);
    }
    query.execute(tx.conn()).await?;
    Ok(())
}

/// Removes the named products and their stock; returns how many existed.
pub async fn delete_products(
    tx: &mut WriteTx,
    scope: ImportScope<'_>,
    product_ids: &[String],
) -> Result<i64, StoreError> {
    let mut deleted = 0;
    for chunk in product_ids.chunks(ROWS_PER_STATEMENT) {
        deleted += delete_chunk(tx, scope, "catalog_products", chunk).await?;
        delete_chunk(tx, scope, "catalog_stock", chunk).await?;
    }
    Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
}

/// Deletes the named products' rows from `table`; returns how many.
async fn delete_chunk(
    tx: &mut WriteTx,
    scope: ImportScope<'_>,
    table: &str,
    product_ids: &[String],
) -> Result<u64, StoreError> {
    let mut placeholders = Placeholders::new(tx.backend());
    let sql = format!(
        "DELETE FROM {table} WHERE account_id = {} AND livemode = {} AND product_id IN ({})",
        placeholders.one(),
        placeholders.one(),
        placeholders.list(product_ids.len())
    );
    let mut query = sqlx::query(&sql).bind(scope.account()).bind(scope.mode());
    for id in product_ids {
        query = query.bind(id.clone());
    }
    Ok(query.execute(tx.conn()).await?.rows_affected())
}

/// For `mode=replace`: removes every product of the account and mode that
/// this import did not write, and their stock. Returns how many.
pub async fn remove_unwritten(tx: &mut WriteTx, scope: ImportScope<'_>) -> Result<i64, StoreError> {
    let deleted = sqlx::query(
        "DELETE FROM catalog_products WHERE account_id = $1 AND livemode = $2 \
         AND (import_set_id IS NULL OR import_set_id <> $3)",
    )
    .bind(scope.account())
    .bind(scope.mode())
    .bind(scope.import_set_id.to_owned())
    .execute(tx.conn())
    .await?
    .rows_affected();
    sqlx::query(
        "DELETE FROM catalog_stock WHERE account_id = $1 AND livemode = $2 \
         AND NOT EXISTS (SELECT 1 FROM catalog_products AS p WHERE p.account_id = $1 \
         AND p.livemode = $2 AND p.product_id = catalog_stock.product_id)",
    )
    .bind(scope.account())
    .bind(scope.mode())
    .execute(tx.conn())
    .await?;
    Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
}

/// The temporary table a batch's stock changes pass through, keyed by
/// product, so that finding the missing products and applying the rest are
/// one statement each that looks every row up by its key. A temporary table
/// belongs to its connection: imports on other connections never see each
/// other's rows. On PostgreSQL its rows go at the end of each transaction.
/// On SQLite the rows live in their key's B-tree alone, so that the
/// statements read them in product order and look the products up in that
/// order too, which keeps the pages they touch close together.
fn create_stock_table(backend: Backend) -> String {
    let on_commit = match backend {
        Backend::Sqlite => " WITHOUT ROWID",
        Backend::Postgres => " ON COMMIT DELETE ROWS",
    };
    format!(
        "CREATE TEMP TABLE IF NOT EXISTS import_stock (product_id TEXT PRIMARY KEY, \
         quantity BIGINT NOT NULL, from_in_stock TEXT NOT NULL, \
         from_out_of_stock TEXT NOT NULL, from_preorder TEXT NOT NULL, \
         from_backorder TEXT NOT NULL){on_commit}"
    )
}

/// Puts a batch's stock changes in the connection's `import_stock` table in
/// place of the previous batch's, for [`missing_staged`] and
/// [`apply_staged_stock`]. Run inside a transaction: on PostgreSQL the rows
/// last only until it ends.
pub async fn stage_stock(
    conn: &mut AnyConnection,
    backend: Backend,
    mut stock: Vec<StockWrite>,
) -> Result<(), StoreError> {
    // Appended in key order, the staged rows fill their B-tree page by page.
    stock.sort_unstable_by(|a, b| a.product_id.cmp(&b.product_id));
    sqlx::query(&create_stock_table(backend))
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM import_stock")
        .execute(&mut *conn)
        .await?;

    let mut stock = stock.into_iter().peekable();
    while stock.peek().is_some() {
        let chunk: Vec<StockWrite> = stock.by_ref().take(STOCK_ROWS_PER_STATEMENT).collect();
        let sql = format!(
            "INSERT INTO import_stock (product_id, quantity, from_in_stock, \
             from_out_of_stock, from_preorder, from_backorder) VALUES {}",
            Placeholders::new(backend).groups(chunk.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for write in chunk {
            let next = write.availability;
            query = query
                .bind(write.product_id)
                .bind(write.inventory_quantity)
                .bind(next.from_in_stock)
                .bind(next.from_out_of_stock)
                .bind(next.from_preorder)
                .bind(next.from_backorder);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The staged products that the catalog lacks, found by their stock rows,
/// which every product has. Only their ids come back, which are few: every
/// row sent back costs a hand-off between sqlx's SQLite thread and the
/// caller.
pub async fn missing_staged(
    conn: &mut AnyConnection,
    scope: ImportScope<'_>,
) -> Result<HashSet<String>, StoreError> {
    let missing = sqlx::query_scalar::<_, String>(
        "SELECT s.product_id FROM import_stock AS s WHERE NOT EXISTS \
         (SELECT 1 FROM catalog_stock AS c WHERE c.account_id = $1 AND c.livemode = $2 \
         AND c.product_id = s.product_id)",
    )
    .bind(scope.account())
    .bind(scope.mode())
    .fetch_all(conn)
    .await?;
    Ok(missing.into_iter().collect())
}

/// Sets the stock of the staged products that exist, and their
/// availability by the one each has now, in their `catalog_stock` rows;
/// the products' own rows, JSON and all, are not touched. Returns how many
/// products it wrote.
pub async fn apply_staged_stock(
    tx: &mut WriteTx,
    scope: ImportScope<'_>,
) -> Result<usize, StoreError> {
    // `CROSS JOIN` makes SQLite look each staged product up by its key;
    // given the choice, SQLite 3.45 (the version sqlx bundles) scans the account's whole catalog
    // instead. Every product has a stock row, so the join also leaves out
    // the staged ids that name no product.
    let written = sqlx::query(
        "INSERT INTO catalog_stock (account_id, livemode, product_id, inventory_quantity, \
         availability, updated) \
         SELECT $1, $2, s.product_id, s.quantity, \
           CASE c.availability \
             WHEN 'out_of_stock' THEN s.from_out_of_stock \
             WHEN 'preorder' THEN s.from_preorder \
             WHEN 'backorder' THEN s.from_backorder \
             ELSE s.from_in_stock END, \
           $3 \
         FROM import_stock AS s \
         CROSS JOIN catalog_stock AS c \
         WHERE c.account_id = $1 AND c.livemode = $2 AND c.product_id = s.product_id \
         ON CONFLICT (account_id, livemode, product_id) DO UPDATE SET \
         inventory_quantity = excluded.inventory_quantity, \
         availability = excluded.availability, updated = excluded.updated",
    )
    .bind(scope.account())
    .bind(scope.mode())
    .bind(scope.now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(usize::try_from(written).unwrap_or(usize::MAX))
}

/// A product as stored: its cleaned feed data and bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredProduct {
    pub product_id: String,
    pub livemode: bool,
    /// The cleaned feed fields; `availability` and `inventory_quantity`
    /// below are newer when an inventory feed changed them, and so is
    /// `updated`.
    pub data: Value,
    pub availability: String,
    pub inventory_quantity: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

const COLUMNS: &str =
    "product_id, livemode, data, availability, inventory_quantity, created, updated";

#[derive(FromRow)]
struct ProductRow {
    product_id: String,
    livemode: i64,
    data: String,
    availability: String,
    inventory_quantity: Option<i64>,
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
            availability: row.availability,
            inventory_quantity: row.inventory_quantity,
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
        "SELECT {COLUMNS} FROM catalog_products_current \
         WHERE account_id = $1 AND livemode = $2 AND product_id = $3"
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

/// How many products an account has in one mode, read on `conn`.
pub async fn count(
    conn: &mut AnyConnection,
    account_id: &AccountId,
    livemode: bool,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM catalog_products WHERE account_id = $1 AND livemode = $2",
    )
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(livemode))
    .fetch_one(conn)
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
    let mut query = ListQuery::new("catalog_products_current", COLUMNS)
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
