//! Writing one import's rows as they arrive from the reader: each batch is
//! settled (inventory rows are staged and checked against the catalog),
//! written to the reports, counted, and applied inside the import's one
//! transaction.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mercato_catalog::{
    Availability, FeedRow, InventoryUpdate, Quoted, RowChange, RowError, RowOutcome,
};
use mercato_core::time::now_unix;
use mercato_store::catalog::{
    self, Applied, ImportScope, NextAvailability, ProductWrite, StockWrite,
};
use mercato_store::import_sets::{self, ImportSet, PENDING};
use mercato_store::{Backend, Db, StoreError, WriteTx};

use crate::feed::{FeedFailure, Reports};
use crate::render::{self, Counts};

/// How often a pending ImportSet's `result` shows progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// One import's side of the database while its feed is read.
pub(crate) struct CatalogWriter<'a> {
    db: &'a Db,
    import_set: &'a ImportSet,
    now: i64,
    /// Opened at the first write and held to the end, so that the whole
    /// import commits at once.
    tx: Option<WriteTx>,
    pub reports: Option<Reports>,
    pub counts: Counts,
    /// Products in the account's catalog before the first product row was
    /// written; counted only by imports that create or delete products.
    products_before: Option<i64>,
    /// Whether the scope has stock set by inventory feeds, which product
    /// rows clear; asked at the first product row.
    has_stock: Option<bool>,
    /// Products written by upsert rows, and removed by delete rows.
    upserted: i64,
    deleted: i64,
    /// Time spent settling and writing batches.
    pub apply_time: Duration,
    last_progress: Instant,
}

/// What an import removes after its rows.
pub(crate) enum Removal {
    Nothing,
    /// `mode=replace`: every product the import did not write.
    Unwritten,
}

/// A batch's rows sorted by what they do to the catalog.
#[derive(Default)]
struct Changes {
    products: Vec<ProductWrite>,
    deletions: Vec<String>,
}

impl<'a> CatalogWriter<'a> {
    pub fn new(db: &'a Db, import_set: &'a ImportSet) -> Self {
        Self {
            db,
            import_set,
            now: now_unix(),
            tx: None,
            reports: None,
            counts: Counts::default(),
            products_before: None,
            has_stock: None,
            upserted: 0,
            deleted: 0,
            apply_time: Duration::ZERO,
            last_progress: Instant::now(),
        }
    }

    fn scope(&self) -> ImportScope<'a> {
        ImportScope {
            account_id: &self.import_set.account_id,
            livemode: self.import_set.livemode,
            import_set_id: self.import_set.id.as_str(),
            now: self.now,
        }
    }

    /// Settles, reports and applies one batch of rows.
    pub async fn write_batch(&mut self, mut rows: Vec<FeedRow>) -> Result<(), FeedFailure> {
        let started = Instant::now();
        let missing = self.write_stock(&rows).await?;
        let mut changes = Changes::default();
        for row in &mut rows {
            settle(row, &missing, &mut changes);
            if let Some(reports) = &mut self.reports {
                reports.record(row)?;
            }
            count(&mut self.counts, row);
        }
        if !self.import_set.validate_only {
            self.apply(changes).await?;
        }
        self.apply_time += started.elapsed();
        self.show_progress().await?;
        Ok(())
    }

    /// The import's transaction, opened now if it is not yet.
    async fn tx(&mut self) -> Result<&mut WriteTx, StoreError> {
        if self.tx.is_none() {
            self.tx = Some(self.db.write().await?);
        }
        Ok(self.tx.as_mut().expect("opened above"))
    }

    /// Hands over the transaction, to finish the import in it, with what
    /// the rows did to the catalog. `removed` products were removed after
    /// the rows (by `mode=replace`).
    pub async fn finish(mut self, removed: Removal) -> Result<(WriteTx, Applied), StoreError> {
        let scope = self.scope();
        let (products_before, deleted_by_rows) = (self.products_before, self.deleted);
        let tx = self.tx().await?;
        let removed = match removed {
            Removal::Unwritten => catalog::remove_unwritten(tx, scope).await?,
            Removal::Nothing => 0,
        };
        let deleted = deleted_by_rows + removed;
        // Every id is in at most one row, so the growth of the catalog, with
        // what was deleted added back, is what the upserts created.
        let created = match products_before {
            Some(before) => {
                let after = catalog::count(tx.conn(), scope.account_id, scope.livemode).await?;
                after - before + deleted
            }
            None => 0,
        };
        let applied = Applied {
            created,
            updated: self.upserted - created,
            deleted,
        };
        let tx = self.tx.take().expect("opened above");
        Ok((tx, applied))
    }

    async fn apply(&mut self, changes: Changes) -> Result<(), StoreError> {
        let scope = self.scope();
        if changes.products.is_empty() && changes.deletions.is_empty() {
            return Ok(());
        }
        let upserted = i64::try_from(changes.products.len()).unwrap_or(i64::MAX);
        let changes_catalog = upserted > 0 || !changes.deletions.is_empty();
        if changes_catalog && self.products_before.is_none() {
            let tx = self.tx().await?;
            let count = catalog::count(tx.conn(), scope.account_id, scope.livemode).await?;
            self.products_before = Some(count);
        }
        if changes_catalog {
            self.clear_stock(&changes).await?;
        }
        let tx = self.tx().await?;
        catalog::upsert_products(tx, scope, changes.products).await?;
        let deleted = catalog::delete_products(tx, scope, &changes.deletions).await?;
        self.upserted += upserted;
        self.deleted += deleted;
        Ok(())
    }

    /// Drops the inventory feeds' stock of the products that the batch
    /// writes or deletes; skipped when the scope has none.
    async fn clear_stock(&mut self, changes: &Changes) -> Result<(), StoreError> {
        let scope = self.scope();
        let has_stock = match self.has_stock {
            Some(known) => known,
            None => {
                let found = catalog::has_stock(self.tx().await?, scope).await?;
                *self.has_stock.insert(found)
            }
        };
        if !has_stock {
            return Ok(());
        }
        let product_ids: Vec<&str> = changes
            .products
            .iter()
            .map(|product| product.product_id.as_str())
            .chain(changes.deletions.iter().map(String::as_str))
            .collect();
        catalog::clear_stock(self.tx().await?, scope, &product_ids).await
    }

    /// Writes the batch's stock changes and returns the products they name
    /// that the catalog lacks, which are left out. The changes are staged
    /// first; an import that only validates stages them in a transaction of
    /// its own, which is rolled back, and writes nothing.
    async fn write_stock(&mut self, rows: &[FeedRow]) -> Result<HashSet<String>, StoreError> {
        let stock: Vec<StockWrite> = rows.iter().filter_map(stock_write).collect();
        if stock.is_empty() {
            return Ok(HashSet::new());
        }
        let staged = stock.len();
        let scope = self.scope();
        let backend = self.db.backend();
        if self.import_set.validate_only {
            let mut check = self.db.pool().begin().await?;
            catalog::stage_stock(&mut check, backend, stock).await?;
            return catalog::missing_staged(&mut check, scope).await;
        }
        let tx = self.tx().await?;
        catalog::stage_stock(tx.conn(), backend, stock).await?;
        let written = catalog::apply_staged_stock(tx, scope).await?;
        if written == staged {
            // Every product exists: the usual case, and no query to ask.
            return Ok(HashSet::new());
        }
        catalog::missing_staged(tx.conn(), scope).await
    }

    /// Publishes the counts so far: in this process at once, and in the
    /// database too on PostgreSQL, where other writers are not held up and
    /// other nodes may be asked.
    async fn show_progress(&mut self) -> Result<(), StoreError> {
        if self.last_progress.elapsed() < PROGRESS_EVERY {
            return Ok(());
        }
        self.last_progress = Instant::now();
        let result = render::result(&self.counts, None, None);
        let id = self.import_set.id.as_str();
        self.db.set_live_progress(id, result.clone());
        if self.db.backend() != Backend::Postgres {
            return Ok(());
        }
        let mut progress = self.db.write().await?;
        import_sets::update_outcome(
            progress.conn(),
            &self.import_set.id,
            PENDING,
            None,
            &result,
            now_unix(),
        )
        .await?;
        progress.commit().await
    }
}

/// Sorts a valid product row into the batch's changes. Inventory rows are
/// written already; one naming no product becomes an error row.
fn settle(row: &mut FeedRow, missing: &HashSet<String>, changes: &mut Changes) {
    let RowOutcome::Valid { change, .. } = &row.outcome else {
        return;
    };
    match change {
        RowChange::Upsert(product) => changes.products.push(ProductWrite {
            product_id: product.id.clone(),
            item_group_id: product.item_group_id.clone(),
            availability: product.availability.to_string(),
            inventory_quantity: product.inventory_quantity,
            data: serde_json::to_string(product).unwrap_or_default(),
        }),
        RowChange::Delete { id } => changes.deletions.push(id.clone()),
        RowChange::Inventory(update) if missing.contains(&update.id) => {
            row.outcome = RowOutcome::Invalid {
                errors: vec![RowError::NotInCatalog {
                    value: Quoted::new(&update.id),
                }],
            };
        }
        RowChange::Inventory(_) => {}
    }
}

/// A valid inventory row's change, to stage.
fn stock_write(row: &FeedRow) -> Option<StockWrite> {
    let RowOutcome::Valid {
        change: RowChange::Inventory(update),
        ..
    } = &row.outcome
    else {
        return None;
    };
    Some(StockWrite {
        product_id: update.id.clone(),
        inventory_quantity: update.inventory_quantity,
        availability: next_availability(update),
    })
}

/// What the update leads to from each availability a product may have.
fn next_availability(update: &InventoryUpdate) -> NextAvailability {
    let from = |current: Availability| update.next_availability(current).to_string();
    NextAvailability {
        from_in_stock: from(Availability::InStock),
        from_out_of_stock: from(Availability::OutOfStock),
        from_preorder: from(Availability::Preorder),
        from_backorder: from(Availability::Backorder),
    }
}

fn count(counts: &mut Counts, row: &FeedRow) {
    counts.rows_processed += 1;
    match &row.outcome {
        RowOutcome::Valid { warnings, .. } => {
            counts.successes += 1;
            if !warnings.is_empty() {
                counts.warnings += 1;
            }
        }
        RowOutcome::Invalid { .. } => counts.errors += 1,
    }
}
