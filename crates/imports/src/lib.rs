//! Catalog imports: the worker that takes `catalog.import` jobs and runs
//! each ImportSet through the feed pipeline of `mercato-catalog`.
//!
//! ```text
//! file blob ─read, validate (blocking thread)─> batches of rows
//!   ─writer (async task)─> product JSON, reports, counts
//!   ─applier (async task, one transaction)─> catalog rows
//!   ─same transaction─> reports as Files, status, result, event, job done
//! ```
//!
//! The three stages overlap: while the database writes one batch, the
//! writer prepares the next and the reader reads the one after.
//!
//! ImportSets of one account run one at a time in creation order: a job
//! whose account has an older pending ImportSet is put back until that one
//! finishes.

mod applier;
mod feed;
pub mod render;
mod run;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use mercato_core::time::now_unix_millis;
use mercato_store::blobs::BlobStore;
use mercato_store::import_sets::IMPORT_JOB;
use mercato_store::{jobs, Db};
use tokio::sync::watch;

/// How long an import's lease lasts without renewal: after a crash, the
/// ImportSet is taken up again this long after its last heartbeat.
const IMPORT_LEASE_MS: i64 = 30_000;
/// How often a running import renews its lease.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Runs imports, one at a time in this process.
pub struct ImportWorker {
    db: Db,
    blobs: BlobStore,
    api_version: String,
    poll_interval: Duration,
}

impl ImportWorker {
    pub fn new(db: Db, blobs: BlobStore, api_version: &str, poll_interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            db,
            blobs,
            api_version: api_version.to_owned(),
            poll_interval,
        })
    }

    /// Claims and runs imports until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        tracing::info!(target: "mercato::imports", "import worker started");
        loop {
            let jobs_added = self.db.jobs_added().notified();
            tokio::pin!(jobs_added);
            jobs_added.as_mut().enable();

            match jobs::claim(&self.db, &[IMPORT_JOB], now_unix_millis(), IMPORT_LEASE_MS).await {
                Ok(Some(job)) => self.process(job).await,
                Ok(None) => {
                    tokio::select! {
                        () = &mut jobs_added => {}
                        () = tokio::time::sleep(self.poll_interval) => {}
                        _ = stop.changed() => break,
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "mercato::imports", %error, "could not claim an import");
                    tokio::time::sleep(self.poll_interval).await;
                }
            }
            if *stop.borrow() {
                break;
            }
        }
        tracing::info!(target: "mercato::imports", "import worker stopped");
    }
}
