//! Reading one feed in a blocking thread: rows are parsed and validated as
//! they stream, and handed in batches to the writer on the async side, so
//! that reading and writing use both cores at once.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

use mercato_catalog::{FeedFormat, FeedReader, FeedReports, FeedRow, FileError, StageTimes};
use mercato_store::StoreError;
use tokio::sync::mpsc;

/// Rows of a product catalog feed handed to the writer at a time.
const PRODUCT_BATCH_ROWS: usize = 2_000;
/// Rows of an inventory feed handed over at a time. Inventory rows are
/// small, and each batch's stock is written in product order: the more
/// products a batch holds, the closer together the stock rows it looks up
/// lie (100,000 products in random order took 1.3 s in batches of 2,000,
/// 0.9 s in batches of 25,000, 0.7 s in one batch).
const INVENTORY_BATCH_ROWS: usize = 100_000;
/// Cell bytes after which a batch is handed over however few its rows, so
/// that a feed of large rows holds no more than a few of these in memory.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Buffer for reading the feed file.
const READ_BUFFER: usize = 1024 * 1024;

/// The two reports of one import, written to temporary files.
pub(crate) type Reports = FeedReports<BufWriter<File>, BufWriter<File>>;

/// What the reading side needs.
pub(crate) struct ReadJob {
    pub format: FeedFormat,
    pub source: PathBuf,
    pub errors_path: PathBuf,
    pub warnings_path: PathBuf,
}

/// What the reader hands to the writer, in this order: the reports, started
/// with the feed's header and file warnings, then batches of rows.
pub(crate) enum Read {
    Opened(Box<Reports>),
    Rows(Vec<FeedRow>),
}

/// Why an import stopped before its end.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FeedFailure {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("the reports could not be written")]
    Report(#[from] mercato_catalog::ReportError),
    #[error("the file could not be read")]
    Io(#[from] std::io::Error),
    #[error("the import stopped unexpectedly")]
    Stopped,
}

/// The applier failed; how is told by joining it.
impl From<crate::applier::ApplierGone> for FeedFailure {
    fn from(_: crate::applier::ApplierGone) -> Self {
        FeedFailure::Stopped
    }
}

/// Reads the feed to its end, sending its rows to `out`; returns the time
/// spent parsing and validating. Stops early, without error, when the
/// writer has gone.
pub(crate) fn read(job: &ReadJob, out: &mpsc::Sender<Read>) -> Result<StageTimes, FeedFailure> {
    let source = BufReader::with_capacity(READ_BUFFER, File::open(&job.source)?);
    let mut reader = FeedReader::open(source, job.format)?;
    let reports = FeedReports::new(
        BufWriter::new(File::create(&job.errors_path)?),
        BufWriter::new(File::create(&job.warnings_path)?),
        reader.header(),
        reader.file_warnings(),
    )?;
    if out.blocking_send(Read::Opened(Box::new(reports))).is_err() {
        return Ok(reader.progress().stage_times);
    }

    let batch_rows = match job.format {
        FeedFormat::ProductCatalog => PRODUCT_BATCH_ROWS,
        FeedFormat::Inventory => INVENTORY_BATCH_ROWS,
    };
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    for row in reader.by_ref() {
        let row = row?;
        batch_bytes += row.record.as_slice().len();
        batch.push(row);
        if batch.len() >= batch_rows || batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            let full = std::mem::take(&mut batch);
            if out.blocking_send(Read::Rows(full)).is_err() {
                return Ok(reader.progress().stage_times);
            }
        }
    }
    if !batch.is_empty() {
        out.blocking_send(Read::Rows(batch)).ok();
    }
    Ok(reader.progress().stage_times)
}
