//! One ImportSet from its job to its outcome: wait for older ImportSets of
//! the account, then read the feed while writing its rows, and keep the
//! reports, the status, the result, the event and the job's end in the
//! transaction that wrote the rows.

use std::path::PathBuf;
use std::time::Instant;

use mercato_catalog::{FeedFormat, Stage, StageTimes};
use mercato_core::ids::FileId;
use mercato_core::time::{now_unix, now_unix_millis};
use mercato_store::events::{self, NewEvent, RequestInfo};
use mercato_store::files::{self, StoredFile};
use mercato_store::import_sets::{
    self, ImportSet, FAILED, PENDING, SUCCEEDED, SUCCEEDED_WITH_ERRORS,
};
use mercato_store::jobs::{self, ClaimedJob, JobState};
use mercato_store::{accounts, StoreError, WriteTx};
use tokio::sync::mpsc;

use crate::applier::{Applier, Removal};
use crate::feed::{self, FeedFailure, Read, ReadJob, Reports};
use crate::render::{self, Counts};
use crate::writer::CatalogWriter;
use crate::ImportWorker;

/// How far a job waiting for an older ImportSet is put back.
const WAIT_FOR_OLDER_MS: i64 = 500;

/// Batches the reader may be ahead of the writer.
const READ_AHEAD_BATCHES: usize = 2;

/// What reading and writing the rows left for the import's end.
struct Written {
    reports: Option<Reports>,
    counts: Counts,
    applier: Applier,
}

/// Where the reports are written while the feed is read.
struct ReportPaths {
    errors: PathBuf,
    warnings: PathBuf,
}

impl ImportWorker {
    pub(crate) async fn process(&self, job: ClaimedJob) {
        let heartbeat = tokio::spawn(renew_lease(self.db.clone(), job.clone()));
        let outcome = self.try_process(&job).await;
        heartbeat.abort();
        if let Err(error) = outcome {
            tracing::error!(target: "mercato::imports", job = %job.id, %error, "import failed to run");
            let retry_at = now_unix_millis() + 5_000;
            jobs::retry_later(&self.db, &job, retry_at, "import failed to run")
                .await
                .ok();
        }
    }

    async fn try_process(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        let id = job.payload["import_set_id"].as_str().unwrap_or_default();
        let Some(import_set) = import_sets::get_for_processing(self.db.pool(), id).await? else {
            jobs::complete(&self.db, job).await?;
            return Ok(());
        };
        if import_set.status != PENDING {
            jobs::complete(&self.db, job).await?;
            return Ok(());
        }
        if import_sets::has_earlier_pending(self.db.pool(), &import_set).await? {
            jobs::defer(&self.db, job, now_unix_millis() + WAIT_FOR_OLDER_MS).await?;
            return Ok(());
        }

        tracing::info!(target: "mercato::imports", import_set = %import_set.id, "import started");
        let finished = self.import(job, &import_set).await;
        self.db.clear_live_progress(import_set.id.as_str());
        if !finished? {
            tracing::warn!(target: "mercato::imports", import_set = %import_set.id, "lease lost; another worker owns this import");
        }
        Ok(())
    }

    /// Reads the feed on a blocking thread while this task prepares its
    /// rows and the applier writes them in the import's transaction, then
    /// finishes the import in that same transaction. `Err` only for storage
    /// failures, which make the job retry; false when the lease was lost and
    /// nothing was applied.
    async fn import(&self, job: &ClaimedJob, import_set: &ImportSet) -> Result<bool, StoreError> {
        let Some(file) = files::get(
            self.db.pool(),
            &import_set.account_id,
            import_set.livemode,
            &import_set.file_id,
        )
        .await?
        else {
            let reason = format!("the file {} no longer exists", import_set.file_id);
            return self.fail(job, import_set, &reason).await;
        };
        let read_job = ReadJob {
            format: FeedFormat::from_standard_data_format(&import_set.standard_data_format)
                .unwrap_or(FeedFormat::ProductCatalog),
            source: self.blobs.path_of(&file.blob_key),
            errors_path: self.blobs.temporary_path(),
            warnings_path: self.blobs.temporary_path(),
        };
        let paths = ReportPaths {
            errors: read_job.errors_path.clone(),
            warnings: read_job.warnings_path.clone(),
        };

        let (sender, mut batches) = mpsc::channel(READ_AHEAD_BATCHES);
        let reader = tokio::task::spawn_blocking(move || feed::read(&read_job, &sender));
        let applier = Applier::spawn(self.db.clone(), import_set.clone(), now_unix());
        let mut writer = CatalogWriter::new(&self.db, import_set, applier);
        let prepared = write_all(&mut writer, &mut batches).await;
        drop(batches);
        let read = match reader.await {
            Ok(read) => read,
            Err(_) => Err(FeedFailure::Stopped),
        };
        let (reports, counts, applier) = writer.into_parts();
        // A failed write stops the writer too: the applier's reason comes first.
        let applier = match applier.join().await {
            Ok(applier) => applier,
            Err(error) => {
                paths.remove().await;
                return Err(error);
            }
        };

        match prepared.and(read) {
            Ok(times) => {
                let written = Written {
                    reports,
                    counts,
                    applier,
                };
                self.finish(job, import_set, written, times, &paths).await
            }
            Err(FeedFailure::Store(error)) => {
                paths.remove().await;
                Err(error)
            }
            Err(failure) => {
                // Rolls the rows back and frees SQLite's writer turn first.
                drop(applier);
                drop(reports);
                paths.remove().await;
                self.fail(job, import_set, &failure.to_string()).await
            }
        }
    }

    /// Keeps the reports, removes what `mode=replace` did not name, and
    /// records the outcome, its event and the job's end, all in the
    /// import's transaction and only while the job's lease is held.
    async fn finish(
        &self,
        job: &ClaimedJob,
        import_set: &ImportSet,
        written: Written,
        times: StageTimes,
        paths: &ReportPaths,
    ) -> Result<bool, StoreError> {
        let Written {
            reports,
            mut counts,
            applier,
        } = written;
        let (errors_report, warnings_report) = match reports.map(Reports::finish) {
            Some(Ok((errors, warnings))) => (errors.has_content, warnings.has_content),
            Some(Err(error)) => {
                drop(applier);
                paths.remove().await;
                return self.fail(job, import_set, &error.to_string()).await;
            }
            None => (false, false),
        };

        let now = now_unix();
        let removal = if import_set.mode == "replace" && !import_set.validate_only {
            Removal::Unwritten
        } else {
            Removal::Nothing
        };
        let started = Instant::now();
        let busy_before = applier.busy;
        let (mut tx, applied) = applier.finish(removal).await?;
        if !jobs::holds_lease(tx.conn(), job).await? {
            return Ok(false);
        }
        counts.created = applied.created;
        counts.updated = applied.updated;
        counts.deleted = applied.deleted;
        let errors_file = self
            .keep_report(&mut tx, import_set, &paths.errors, errors_report, "errors")
            .await?;
        let warnings_file = self
            .keep_report(
                &mut tx,
                import_set,
                &paths.warnings,
                warnings_report,
                "warnings",
            )
            .await?;

        let status = if counts.errors > 0 {
            SUCCEEDED_WITH_ERRORS
        } else {
            SUCCEEDED
        };
        let mut result = render::result(&counts, errors_file.as_deref(), warnings_file.as_deref());
        let apply = busy_before + started.elapsed();
        result["timings_ms"] = serde_json::json!({
            "parse": times.get(Stage::Parse).as_millis() as u64,
            "validate": times.get(Stage::Validate).as_millis() as u64,
            "apply": apply.as_millis() as u64,
        });
        self.record_outcome(&mut tx, import_set, status, None, &result, now)
            .await?;
        jobs::finish_in(&mut tx, job, JobState::Succeeded, None, None).await?;
        tx.commit().await?;
        tracing::info!(
            target: "mercato::imports",
            import_set = %import_set.id,
            status,
            rows = counts.rows_processed,
            errors = counts.errors,
            "import finished"
        );
        Ok(true)
    }

    /// Fails the ImportSet with a reason, leaving the catalog as it was.
    async fn fail(
        &self,
        job: &ClaimedJob,
        import_set: &ImportSet,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let now = now_unix();
        let result = render::empty_result();
        let mut tx = self.db.write().await?;
        if !jobs::holds_lease(tx.conn(), job).await? {
            return Ok(false);
        }
        self.record_outcome(&mut tx, import_set, FAILED, Some(reason), &result, now)
            .await?;
        jobs::finish_in(&mut tx, job, JobState::Succeeded, None, None).await?;
        tx.commit().await?;
        tracing::info!(target: "mercato::imports", import_set = %import_set.id, reason, "import failed");
        Ok(true)
    }

    async fn record_outcome(
        &self,
        tx: &mut WriteTx,
        import_set: &ImportSet,
        status: &str,
        failed_reason: Option<&str>,
        result: &serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        import_sets::update_outcome(
            tx.conn(),
            &import_set.id,
            status,
            failed_reason,
            result,
            now,
        )
        .await?;
        let mut finished = import_set.clone();
        finished.status = status.to_owned();
        finished.failed_reason = failed_reason.map(str::to_owned);
        finished.result = result.clone();
        finished.updated = now;

        let owner = accounts::get(self.db.pool(), import_set.account_id.as_str()).await?;
        let new_event = NewEvent {
            account_id: import_set.account_id.clone(),
            platform_id: owner.and_then(|account| account.platform_id),
            livemode: import_set.livemode,
            event_type: format!("data_management.import_set.{status}"),
            object: render::import_set(&finished),
            previous_attributes: Some(serde_json::json!({ "status": PENDING })),
            request: RequestInfo::default(),
        };
        events::record(tx, new_event, &self.api_version).await?;
        Ok(())
    }

    /// Keeps a report as a File of the account, or removes it when empty.
    async fn keep_report(
        &self,
        tx: &mut WriteTx,
        import_set: &ImportSet,
        path: &PathBuf,
        has_content: bool,
        kind: &str,
    ) -> Result<Option<String>, StoreError> {
        if !has_content {
            tokio::fs::remove_file(path).await.ok();
            return Ok(None);
        }
        let blob = self.blobs.adopt(path).await?;
        let file = StoredFile {
            id: FileId::generate(),
            account_id: import_set.account_id.clone(),
            livemode: import_set.livemode,
            purpose: "data_management_manual_upload".to_owned(),
            filename: Some(format!("{}-{kind}.csv", import_set.id)),
            title: None,
            file_type: "csv".to_owned(),
            mime_type: "text/csv".to_owned(),
            size: i64::try_from(blob.size).unwrap_or(i64::MAX),
            sha256: blob.sha256,
            blob_key: blob.key,
            created: now_unix(),
            expires_at: None,
        };
        files::insert(tx.conn(), &file).await?;
        Ok(Some(file.id.to_string()))
    }
}

/// Hands the reader's batches to the writer until the reader is done.
async fn write_all(
    writer: &mut CatalogWriter<'_>,
    batches: &mut mpsc::Receiver<Read>,
) -> Result<(), FeedFailure> {
    while let Some(read) = batches.recv().await {
        match read {
            Read::Opened(reports) => writer.reports = Some(*reports),
            Read::Rows(rows) => writer.write_batch(rows).await?,
        }
    }
    writer.flush().await
}

/// Renews the job's lease until aborted, so that a long import keeps it
/// while a crashed one loses it soon.
async fn renew_lease(db: mercato_store::Db, mut job: ClaimedJob) {
    loop {
        tokio::time::sleep(crate::HEARTBEAT).await;
        let until = now_unix_millis() + crate::IMPORT_LEASE_MS;
        match jobs::extend_lease(&db, &mut job, until).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(target: "mercato::imports", %error, "could not renew an import's lease")
            }
        }
    }
}

impl ReportPaths {
    async fn remove(&self) {
        tokio::fs::remove_file(&self.errors).await.ok();
        tokio::fs::remove_file(&self.warnings).await.ok();
    }
}
