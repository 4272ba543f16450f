//! Catalog feeds: reading, validating and cleaning the product catalog and
//! inventory feeds that businesses upload, and writing the error and warning
//! reports. The contract is `shared/reference/catalog-feed.md`.
//!
//! This crate is pure: it knows neither SQL nor HTTP. The store drives it
//! and applies the changes it yields:
//!
//! ```text
//! bytes ──FeedReader::open──> header checked ──for row in reader──> FeedRow
//!   FeedRow.outcome: Valid { change: Upsert | Delete | Inventory, warnings }
//!                  | Invalid { errors }          (FeedReports writes both reports)
//! ```
//!
//! **Money is an integer in the currency's minor unit**, never rounded.
//! **A row fails alone**; only a problem with the file as a whole (empty,
//! header only, not text, a required column missing or named twice) fails
//! the import.

pub mod columns;
mod currencies;
pub mod dates;
pub mod feed;
mod field_names;
pub mod gtin;
pub mod header;
mod html;
pub mod inventory;
pub mod links;
pub mod messages;
pub mod money;
pub mod pipeline;
pub mod product;
mod product_rules;
pub mod report;
pub mod row;
mod rules;

pub use columns::{Column, FeedFormat};
pub use dates::{DateInterval, FeedDate};
pub use feed::{Delimiter, FeedReader};
pub use header::FeedHeader;
pub use inventory::InventoryUpdate;
pub use messages::{join_messages, FileError, FileWarning, Quoted, RowError, RowWarning};
pub use money::{parse_price, Currency, Money};
pub use pipeline::{Progress, Stage, StageTimes};
pub use product::{Availability, Product};
pub use report::{
    strip_message_column, FeedReports, FinishedReport, ReportError, ReportKind, ReportWriter,
};
pub use row::{FeedRow, RowChange, RowOutcome};
