//! The task that owns an import's transaction and runs its statements, so
//! that the writer can prepare the next batch (product JSON, reports,
//! counts) while the database writes this one. Commands arrive in the
//! order of the feed's rows; the transaction goes back to the import when
//! the writer is done.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mercato_store::catalog::{self, Applied, ImportScope, ProductWrite, StockWrite};
use mercato_store::import_sets::ImportSet;
use mercato_store::{Db, StoreError, WriteTx};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Batches the writer may be ahead of the database.
const QUEUED_BATCHES: usize = 2;

/// A batch's product rows sorted by what they do to the catalog.
#[derive(Default)]
pub(crate) struct Changes {
    pub products: Vec<ProductWrite>,
    pub deletions: Vec<String>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.products.is_empty() && self.deletions.is_empty()
    }
}

/// What the writer asks of the applier.
pub(crate) enum Command {
    /// Write these products and deletions.
    Apply(Changes),
    /// Write this stock, unless the import only validates, and answer with
    /// the products it names that the catalog lacks.
    Stock {
        stock: Vec<StockWrite>,
        missing: oneshot::Sender<HashSet<String>>,
    },
}

/// What an import removes after its rows.
pub(crate) enum Removal {
    Nothing,
    /// `mode=replace`: every product the import did not write.
    Unwritten,
}

/// The writer's end of a running applier.
pub(crate) struct ApplierHandle {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<Result<Applier, StoreError>>,
}

/// The applier's answer to [`ApplierHandle::write_stock`], to wait for.
pub(crate) struct MissingProducts(oneshot::Receiver<HashSet<String>>);

impl MissingProducts {
    pub async fn wait(self) -> Result<HashSet<String>, ApplierGone> {
        self.0.await.map_err(|_| ApplierGone)
    }
}

/// Why the applier took no more commands: it failed, and [`ApplierHandle::join`]
/// tells how.
#[derive(Debug)]
pub(crate) struct ApplierGone;

impl ApplierHandle {
    /// Queues a command; waits while the applier is [`QUEUED_BATCHES`]
    /// behind.
    pub async fn send(&self, command: Command) -> Result<(), ApplierGone> {
        self.commands.send(command).await.map_err(|_| ApplierGone)
    }

    /// Queues `stock` to be written after the batches before it; the
    /// answer is the products it names that the catalog lacks.
    pub async fn write_stock(
        &self,
        stock: Vec<StockWrite>,
    ) -> Result<MissingProducts, ApplierGone> {
        let (missing, answer) = oneshot::channel();
        self.send(Command::Stock { stock, missing }).await?;
        Ok(MissingProducts(answer))
    }

    /// Lets the applier run out its queue and hands it back, or its
    /// failure. A panic in it comes back as a panic here.
    pub async fn join(self) -> Result<Applier, StoreError> {
        drop(self.commands);
        match self.task.await {
            Ok(outcome) => outcome,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

/// One import's side of the database: its transaction and what it did.
pub(crate) struct Applier {
    db: Db,
    target: Target,
    /// Opened at the first write and held to the end, so that the whole
    /// import commits at once.
    tx: Option<WriteTx>,
    /// Products in the account's catalog before the first product row was
    /// written; counted only by imports that create or delete products.
    products_before: Option<i64>,
    /// Products written by upsert rows, removed by delete rows, and given
    /// new stock by inventory rows.
    upserted: i64,
    deleted: i64,
    restocked: i64,
    /// Time spent running commands.
    pub busy: Duration,
}

/// The ImportSet being applied and its clock.
struct Target {
    import_set: ImportSet,
    now: i64,
}

impl Target {
    fn scope(&self) -> ImportScope<'_> {
        ImportScope {
            account_id: &self.import_set.account_id,
            livemode: self.import_set.livemode,
            import_set_id: self.import_set.id.as_str(),
            now: self.now,
        }
    }
}

/// The import's transaction, opened now if it is not yet.
async fn open<'t>(db: &Db, tx: &'t mut Option<WriteTx>) -> Result<&'t mut WriteTx, StoreError> {
    if tx.is_none() {
        *tx = Some(db.write().await?);
    }
    Ok(tx.as_mut().expect("opened above"))
}

impl Applier {
    /// Starts the applier of `import_set` on its own task.
    pub fn spawn(db: Db, import_set: ImportSet, now: i64) -> ApplierHandle {
        let applier = Self {
            db,
            target: Target { import_set, now },
            tx: None,
            products_before: None,
            upserted: 0,
            deleted: 0,
            restocked: 0,
            busy: Duration::ZERO,
        };
        let (commands, queue) = mpsc::channel(QUEUED_BATCHES);
        let task = tokio::spawn(applier.run(queue));
        ApplierHandle { commands, task }
    }

    async fn run(mut self, mut queue: mpsc::Receiver<Command>) -> Result<Self, StoreError> {
        while let Some(command) = queue.recv().await {
            let started = Instant::now();
            match command {
                Command::Apply(changes) => self.apply(changes).await?,
                Command::Stock { stock, missing } => {
                    let lacking = self.write_stock(stock).await?;
                    // The writer only goes when it has failed already.
                    missing.send(lacking).ok();
                }
            }
            self.busy += started.elapsed();
        }
        Ok(self)
    }

    /// Hands over the transaction, to finish the import in it, with what
    /// the rows did to the catalog, after removing what `removal` says.
    pub async fn finish(mut self, removal: Removal) -> Result<(WriteTx, Applied), StoreError> {
        let started = Instant::now();
        let tx = open(&self.db, &mut self.tx).await?;
        let scope = self.target.scope();
        let removed = match removal {
            Removal::Unwritten => catalog::remove_unwritten(tx, scope).await?,
            Removal::Nothing => 0,
        };
        let deleted = self.deleted + removed;
        // Every id is in at most one row, so the growth of the catalog, with
        // what was deleted added back, is what the upserts created.
        let created = match self.products_before {
            Some(before) => {
                let after = catalog::count(tx.conn(), scope.account_id, scope.livemode).await?;
                after - before + deleted
            }
            None => 0,
        };
        let applied = Applied {
            created,
            updated: self.upserted - created + self.restocked,
            deleted,
        };
        self.busy += started.elapsed();
        let tx = self.tx.take().expect("opened above");
        Ok((tx, applied))
    }

    async fn apply(&mut self, changes: Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = open(&self.db, &mut self.tx).await?;
        let scope = self.target.scope();
        if self.products_before.is_none() {
            let count = catalog::count(tx.conn(), scope.account_id, scope.livemode).await?;
            self.products_before = Some(count);
        }

        self.upserted += i64::try_from(changes.products.len()).unwrap_or(i64::MAX);
        catalog::upsert_products(tx, scope, changes.products).await?;
        self.deleted += catalog::delete_products(tx, scope, &changes.deletions).await?;
        Ok(())
    }

    /// Writes a batch's stock and returns the products it names that the
    /// catalog lacks, which are left out. The stock is staged first; an
    /// import that only validates stages it in a transaction of its own,
    /// which is rolled back, and writes nothing.
    async fn write_stock(&mut self, stock: Vec<StockWrite>) -> Result<HashSet<String>, StoreError> {
        let staged = stock.len();
        let backend = self.db.backend();
        let scope = self.target.scope();
        if self.target.import_set.validate_only {
            let mut check = self.db.pool().begin().await?;
            catalog::stage_stock(&mut check, backend, stock).await?;
            return catalog::missing_staged(&mut check, scope).await;
        }

        let tx = open(&self.db, &mut self.tx).await?;
        catalog::stage_stock(tx.conn(), backend, stock).await?;
        let written = catalog::apply_staged_stock(tx, scope).await?;
        self.restocked += i64::try_from(written).unwrap_or(i64::MAX);
        if written == staged {
            // Every product exists: the usual case, and no query to ask.
            return Ok(HashSet::new());
        }
        catalog::missing_staged(tx.conn(), scope).await
    }
}
