//! Reading one feed in a blocking thread: rows are validated as they
//! stream, written to the reports, and staged in batches (each batch its own
//! short transaction). Inventory rows are checked against the catalog a
//! batch at a time, since an inventory row may only name an existing
//! product.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mercato_catalog::{
    Availability, FeedFormat, FeedReader, FeedReports, FeedRow, FileError, Quoted, RowChange,
    RowError, RowOutcome, Stage, StageTimes,
};
use mercato_core::time::now_unix;
use mercato_store::catalog::{self, StagedChange};
use mercato_store::import_sets::{self, ImportSet, PENDING};
use mercato_store::{Db, StoreError};
use tokio::runtime::Handle;

use crate::render::{self, Counts};

/// Rows staged per transaction.
const STAGE_BATCH: usize = 2_000;
/// How often a pending ImportSet's `result` shows progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Buffer for reading the feed file.
const READ_BUFFER: usize = 1024 * 1024;

/// Everything the blocking side needs.
pub(crate) struct FeedJob {
    pub db: Db,
    pub handle: Handle,
    pub import_set: ImportSet,
    pub format: FeedFormat,
    pub source: PathBuf,
    pub errors_path: PathBuf,
    pub warnings_path: PathBuf,
}

/// What reading the feed produced.
pub(crate) struct FeedSummary {
    pub counts: Counts,
    pub errors_report: bool,
    pub warnings_report: bool,
    pub timings: StageTimes,
}

/// Why reading the feed stopped.
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
}

/// Rows waiting to be reported and staged.
struct Batch {
    rows: Vec<FeedRow>,
}

pub(crate) fn process(job: &FeedJob) -> Result<FeedSummary, FeedFailure> {
    let source = BufReader::with_capacity(READ_BUFFER, File::open(&job.source)?);
    let mut reader = FeedReader::open(source, job.format)?;
    let errors_out = BufWriter::new(File::create(&job.errors_path)?);
    let warnings_out = BufWriter::new(File::create(&job.warnings_path)?);
    let mut reports = FeedReports::new(
        errors_out,
        warnings_out,
        reader.header(),
        reader.file_warnings(),
    )?;

    let mut counts = Counts::default();
    let mut staging_time = Duration::ZERO;
    let mut batch = Batch {
        rows: Vec::with_capacity(STAGE_BATCH),
    };
    let mut last_progress = Instant::now();
    for row in reader.by_ref() {
        batch.rows.push(row?);
        if batch.rows.len() >= STAGE_BATCH {
            staging_time += flush(job, &mut batch, &mut reports, &mut counts)?;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            report_progress(job, &counts)?;
            last_progress = Instant::now();
        }
    }
    staging_time += flush(job, &mut batch, &mut reports, &mut counts)?;

    let mut timings = reader.progress().stage_times;
    timings.add(Stage::Apply, staging_time);
    let (errors, warnings) = reports.finish()?;
    Ok(FeedSummary {
        counts,
        errors_report: errors.has_content,
        warnings_report: warnings.has_content,
        timings,
    })
}

/// Settles a batch: checks inventory rows against the catalog, writes the
/// reports, stages the valid changes. Returns the time spent staging.
fn flush<E: std::io::Write, W: std::io::Write>(
    job: &FeedJob,
    batch: &mut Batch,
    reports: &mut FeedReports<E, W>,
    counts: &mut Counts,
) -> Result<Duration, FeedFailure> {
    if batch.rows.is_empty() {
        return Ok(Duration::ZERO);
    }
    let current = current_products(job, &batch.rows)?;
    let mut staged = Vec::with_capacity(batch.rows.len());
    for mut row in batch.rows.drain(..) {
        let change = staged_change(&mut row, &current);
        reports.record(&row)?;
        count(counts, &row);
        staged.extend(change);
    }
    if job.import_set.validate_only || staged.is_empty() {
        return Ok(Duration::ZERO);
    }

    let started = Instant::now();
    job.handle.block_on(async {
        let mut tx = job.db.write().await?;
        catalog::stage(
            tx.conn(),
            job.db.backend(),
            job.import_set.id.as_str(),
            &staged,
        )
        .await?;
        tx.commit().await
    })?;
    Ok(started.elapsed())
}

/// The stored JSON of each product an inventory row names.
fn current_products(
    job: &FeedJob,
    rows: &[FeedRow],
) -> Result<HashMap<String, String>, StoreError> {
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|row| match &row.outcome {
            RowOutcome::Valid {
                change: RowChange::Inventory(update),
                ..
            } => Some(update.id.clone()),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let import_set = &job.import_set;
    let found = job.handle.block_on(catalog::current_data(
        job.db.pool(),
        &import_set.account_id,
        import_set.livemode,
        &ids,
    ))?;
    Ok(found.into_iter().collect())
}

/// The change a valid row stages; an inventory row naming no product
/// becomes an error row instead.
fn staged_change(row: &mut FeedRow, current: &HashMap<String, String>) -> Option<StagedChange> {
    let RowOutcome::Valid { change, .. } = &row.outcome else {
        return None;
    };
    match change {
        RowChange::Upsert(product) => Some(StagedChange::Upsert {
            product_id: product.id.clone(),
            item_group_id: product.item_group_id.clone(),
            availability: product.availability.to_string(),
            inventory_quantity: product.inventory_quantity,
            data: serde_json::to_string(product).unwrap_or_default(),
        }),
        RowChange::Delete { id } => Some(StagedChange::Delete {
            product_id: id.clone(),
        }),
        RowChange::Inventory(update) => {
            let Some(stored) = current.get(&update.id) else {
                row.outcome = RowOutcome::Invalid {
                    errors: vec![RowError::NotInCatalog {
                        value: Quoted::new(&update.id),
                    }],
                };
                return None;
            };
            let mut data: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
            let current_availability =
                parse_availability(data["availability"].as_str().unwrap_or_default());
            let availability = update.next_availability(current_availability).to_string();
            data["inventory_quantity"] = serde_json::Value::from(update.inventory_quantity);
            data["availability"] = serde_json::Value::from(availability.clone());
            Some(StagedChange::Inventory {
                product_id: update.id.clone(),
                inventory_quantity: update.inventory_quantity,
                availability,
                data: data.to_string(),
            })
        }
    }
}

fn parse_availability(text: &str) -> Availability {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .unwrap_or(Availability::InStock)
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

fn report_progress(job: &FeedJob, counts: &Counts) -> Result<(), StoreError> {
    let result = render::result(counts, None, None);
    job.handle.block_on(async {
        let mut tx = job.db.write().await?;
        import_sets::update_outcome(
            tx.conn(),
            &job.import_set.id,
            PENDING,
            None,
            &result,
            now_unix(),
        )
        .await?;
        tx.commit().await
    })
}
