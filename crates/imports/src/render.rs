//! The ImportSet object, `data_management.import_set`.

use mercato_store::import_sets::ImportSet;
use serde_json::{json, Value};

/// The ImportSet's JSON; `mode` and `validate_only` are extensions.
pub fn import_set(import_set: &ImportSet) -> Value {
    json!({
        "id": import_set.id,
        "object": "data_management.import_set",
        "created": import_set.created,
        "failed_reason": import_set.failed_reason,
        "file": import_set.file_id,
        "livemode": import_set.livemode,
        "mode": import_set.mode,
        "result": import_set.result,
        "standard_data_format": import_set.standard_data_format,
        "status": import_set.status,
        "validate_only": import_set.validate_only,
    })
}

/// The `result` of an ImportSet that has not started.
pub fn empty_result() -> Value {
    result(&Counts::default(), None, None)
}

/// What an import counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub rows_processed: u64,
    pub successes: u64,
    pub errors: u64,
    pub warnings: u64,
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
}

/// The `result` object, with report file ids when there are reports.
pub fn result(counts: &Counts, errors_file: Option<&str>, warnings_file: Option<&str>) -> Value {
    json!({
        "rows_processed": counts.rows_processed,
        "successes": { "row_count": counts.successes },
        "errors": { "row_count": counts.errors, "file": errors_file },
        "warnings": { "row_count": counts.warnings, "file": warnings_file },
        "objects_created": counts.created,
        "objects_updated": counts.updated,
        "objects_deleted": counts.deleted,
    })
}
