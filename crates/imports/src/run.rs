//! One ImportSet from its job to its outcome: wait for older ImportSets of
//! the account, read the feed, keep the reports as Files, then apply the
//! staged changes, the status, the result and the event in one transaction.

use std::path::PathBuf;

use mercato_catalog::{FeedFormat, Stage};
use mercato_core::ids::FileId;
use mercato_core::time::{now_unix, now_unix_millis};
use mercato_store::events::{self, NewEvent, RequestInfo};
use mercato_store::files::{self, StoredFile};
use mercato_store::import_sets::{
    self, ImportSet, FAILED, PENDING, SUCCEEDED, SUCCEEDED_WITH_ERRORS,
};
use mercato_store::jobs::{self, ClaimedJob};
use mercato_store::{accounts, catalog, StoreError};

use crate::feed::{self, FeedFailure, FeedJob, FeedSummary};
use crate::render;
use crate::ImportWorker;

/// How far a job waiting for an older ImportSet is put back.
const WAIT_FOR_OLDER_MS: i64 = 500;

/// Where the reports of a finished read are.
struct Reports {
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
        let mut tx = self.db.write().await?;
        catalog::clear_staging(tx.conn(), import_set.id.as_str()).await?;
        tx.commit().await?;

        let outcome = self.read_feed(&import_set).await?;
        if self.finish(job, &import_set, outcome).await? {
            jobs::complete(&self.db, job).await?;
        } else {
            tracing::warn!(target: "mercato::imports", import_set = %import_set.id, "lease lost; another worker owns this import");
        }
        Ok(())
    }

    /// Reads the feed in a blocking thread; `Err` only for storage failures,
    /// which make the job retry.
    async fn read_feed(
        &self,
        import_set: &ImportSet,
    ) -> Result<Result<(FeedSummary, Reports), String>, StoreError> {
        let Some(file) = files::get(
            self.db.pool(),
            &import_set.account_id,
            import_set.livemode,
            &import_set.file_id,
        )
        .await?
        else {
            return Ok(Err(format!(
                "the file {} no longer exists",
                import_set.file_id
            )));
        };
        let format = FeedFormat::from_standard_data_format(&import_set.standard_data_format)
            .unwrap_or(FeedFormat::ProductCatalog);
        let reports = Reports {
            errors: self.blobs.temporary_path(),
            warnings: self.blobs.temporary_path(),
        };
        let feed_job = FeedJob {
            db: self.db.clone(),
            handle: tokio::runtime::Handle::current(),
            import_set: import_set.clone(),
            format,
            source: self.blobs.path_of(&file.blob_key),
            errors_path: reports.errors.clone(),
            warnings_path: reports.warnings.clone(),
        };

        let read = tokio::task::spawn_blocking(move || feed::process(&feed_job)).await;
        match read {
            Ok(Ok(summary)) => Ok(Ok((summary, reports))),
            Ok(Err(FeedFailure::Store(error))) => Err(error),
            Ok(Err(failure)) => {
                remove_reports(&reports).await;
                Ok(Err(failure.to_string()))
            }
            Err(_) => {
                remove_reports(&reports).await;
                Ok(Err("the import stopped unexpectedly".to_owned()))
            }
        }
    }

    /// Stores the reports, applies the staged changes and records the
    /// outcome and its event together, only while the job's lease is held.
    /// False when the lease was lost and nothing was applied.
    async fn finish(
        &self,
        job: &ClaimedJob,
        import_set: &ImportSet,
        outcome: Result<(FeedSummary, Reports), String>,
    ) -> Result<bool, StoreError> {
        let (summary, reports) = match outcome {
            Ok(read) => read,
            Err(reason) => return self.fail(job, import_set, &reason).await,
        };
        let errors_file = self
            .keep_report(import_set, &reports.errors, summary.errors_report, "errors")
            .await?;
        let warnings_file = self
            .keep_report(
                import_set,
                &reports.warnings,
                summary.warnings_report,
                "warnings",
            )
            .await?;

        let started = std::time::Instant::now();
        let now = now_unix();
        let mut tx = self.db.write().await?;
        if !jobs::holds_lease(tx.conn(), job).await? {
            return Ok(false);
        }
        let mut counts = summary.counts;
        if !import_set.validate_only {
            let replace = import_set.mode == "replace";
            let applied = catalog::apply_staged(
                &mut tx,
                &import_set.account_id,
                import_set.livemode,
                import_set.id.as_str(),
                replace,
                now,
            )
            .await?;
            counts.created = applied.created;
            counts.updated = applied.updated;
            counts.deleted = applied.deleted;
        }
        let status = if counts.errors > 0 {
            SUCCEEDED_WITH_ERRORS
        } else {
            SUCCEEDED
        };
        let mut result = render::result(&counts, errors_file.as_deref(), warnings_file.as_deref());
        let mut timings = summary.timings;
        timings.add(Stage::Apply, started.elapsed());
        result["timings_ms"] = serde_json::json!({
            "parse": timings.get(Stage::Parse).as_millis() as u64,
            "validate": timings.get(Stage::Validate).as_millis() as u64,
            "apply": timings.get(Stage::Apply).as_millis() as u64,
        });
        self.record_outcome(&mut tx, import_set, status, None, &result, now)
            .await?;
        tx.commit().await?;
        let mut cleanup = self.db.write().await?;
        catalog::clear_staging(cleanup.conn(), import_set.id.as_str()).await?;
        cleanup.commit().await?;
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
        catalog::clear_staging(tx.conn(), import_set.id.as_str()).await?;
        self.record_outcome(&mut tx, import_set, FAILED, Some(reason), &result, now)
            .await?;
        tx.commit().await?;
        tracing::info!(target: "mercato::imports", import_set = %import_set.id, reason, "import failed");
        Ok(true)
    }

    async fn record_outcome(
        &self,
        tx: &mut mercato_store::WriteTx,
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
        let mut tx = self.db.write().await?;
        files::insert(tx.conn(), &file).await?;
        tx.commit().await?;
        Ok(Some(file.id.to_string()))
    }
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

async fn remove_reports(reports: &Reports) {
    tokio::fs::remove_file(&reports.errors).await.ok();
    tokio::fs::remove_file(&reports.warnings).await.ok();
}
