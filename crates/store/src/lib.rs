//! Mercato's storage: one SQL schema that runs on SQLite (the embedded
//! default) and PostgreSQL (for several nodes), the durable job queue, and the
//! blob store that keeps file bytes.
//!
//! Every query is written once, with `$N` placeholders that both backends
//! accept, and runs through sqlx's `Any` driver. Times are Unix seconds in
//! `i64` (milliseconds where a name ends in `_ms`), booleans are 0/1, and
//! nested objects are JSON text.
//!
//! The modules group queries by table; they take a [`Db`], a pool, or an open
//! [`WriteTx`] so that a handler can put several writes in one transaction.

pub mod accounts;
pub mod blobs;
pub mod bootstrap;
pub mod catalog;
mod db;
mod error;
pub mod events;
pub mod files;
pub mod idempotency;
pub mod import_sets;
pub mod jobs;
pub mod keys;
pub mod list;
pub mod webhooks;

pub use db::{Backend, Db, WriteTx};
pub use error::StoreError;

/// `$first, $first+1, ...`: `count` numbered placeholders for an `IN` list.
/// Keep lists short on SQLite, where binding numbered parameters costs time
/// in the square of their number.
pub(crate) fn numbered_placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|number| format!("${number}"))
        .collect::<Vec<_>>()
        .join(", ")
}
