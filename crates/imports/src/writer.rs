//! Preparing one import's rows as they arrive from the reader: each batch
//! is settled (inventory rows are written first and checked against the
//! catalog), written to the reports, counted, and handed to the applier,
//! which writes it while the next batch is prepared. A batch's stock is
//! queued before the batch before it is settled, so that the applier always
//! has the next statement to run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mercato_catalog::{
    Availability, FeedRow, InventoryUpdate, Quoted, RowChange, RowError, RowOutcome,
};
use mercato_core::time::now_unix;
use mercato_store::catalog::{NextAvailability, ProductWrite, StockWrite};
use mercato_store::import_sets::{self, ImportSet, PENDING};
use mercato_store::{Backend, Db, StoreError};

use crate::applier::{ApplierHandle, Changes, Command, MissingProducts};
use crate::feed::{FeedFailure, Reports};
use crate::render::{self, Counts};

/// How often a pending ImportSet's `result` shows progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// One import's rows on their way from the reader to the applier.
pub(crate) struct CatalogWriter<'a> {
    db: &'a Db,
    import_set: &'a ImportSet,
    applier: ApplierHandle,
    /// The last batch read, waiting for the applier to say which of the
    /// products its inventory rows name are missing.
    pending: Option<Pending>,
    pub reports: Option<Reports>,
    pub counts: Counts,
    last_progress: Instant,
}

/// A batch of rows and, when it has stock to write, the applier's answer.
struct Pending {
    rows: Vec<FeedRow>,
    missing: Option<MissingProducts>,
}

impl<'a> CatalogWriter<'a> {
    pub fn new(db: &'a Db, import_set: &'a ImportSet, applier: ApplierHandle) -> Self {
        Self {
            db,
            import_set,
            applier,
            pending: None,
            reports: None,
            counts: Counts::default(),
            last_progress: Instant::now(),
        }
    }

    /// The reports, the counts and the applier, once every batch is handed
    /// over with [`CatalogWriter::flush`].
    pub fn into_parts(self) -> (Option<Reports>, Counts, ApplierHandle) {
        (self.reports, self.counts, self.applier)
    }

    /// Queues one batch's stock, then settles the batch before it. The
    /// applier so writes this batch's stock before the batch before's
    /// product changes, which never touch the same products: only inventory
    /// feeds have stock, and they change no product.
    pub async fn write_batch(&mut self, rows: Vec<FeedRow>) -> Result<(), FeedFailure> {
        let stock: Vec<StockWrite> = rows.iter().filter_map(stock_write).collect();
        let missing = if stock.is_empty() {
            None
        } else {
            Some(self.applier.write_stock(stock).await?)
        };
        if let Some(previous) = self.pending.replace(Pending { rows, missing }) {
            self.settle_batch(previous).await?;
        }
        Ok(())
    }

    /// Settles the last batch.
    pub async fn flush(&mut self) -> Result<(), FeedFailure> {
        match self.pending.take() {
            Some(last) => self.settle_batch(last).await,
            None => Ok(()),
        }
    }

    /// Settles, reports and counts one batch of rows, and queues its
    /// changes for the applier.
    async fn settle_batch(&mut self, batch: Pending) -> Result<(), FeedFailure> {
        let Pending { mut rows, missing } = batch;
        let missing = match missing {
            Some(answer) => answer.wait().await?,
            None => HashSet::new(),
        };
        let mut changes = Changes::default();
        for row in &mut rows {
            settle(row, &missing, &mut changes);
            if let Some(reports) = &mut self.reports {
                reports.record(row)?;
            }
            count(&mut self.counts, row);
        }
        drop(rows);

        if !self.import_set.validate_only {
            self.applier.send(Command::Apply(changes)).await?;
        }
        self.show_progress().await?;
        Ok(())
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
