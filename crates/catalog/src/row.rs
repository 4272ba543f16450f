//! What reading one row gives the caller: the original record and line, and
//! either the change it asks for with its cleaning warnings, or its errors.

use csv::ByteRecord;

use crate::inventory::InventoryUpdate;
use crate::messages::{join_messages, RowError, RowWarning};
use crate::product::Product;

/// One data row of a feed after validation.
#[derive(Clone, Debug)]
pub struct FeedRow {
    /// The line the row starts on, counting the header as line 1.
    pub line: u64,
    /// The cells exactly as read, for the reports.
    pub record: ByteRecord,
    pub outcome: RowOutcome,
}

/// Whether a row can be applied.
#[derive(Clone, Debug)]
pub enum RowOutcome {
    Valid {
        change: RowChange,
        warnings: Vec<RowWarning>,
    },
    Invalid {
        errors: Vec<RowError>,
    },
}

impl RowOutcome {
    /// The error report's `stripe_error_message`, when the row failed.
    pub fn error_message(&self) -> Option<String> {
        match self {
            RowOutcome::Invalid { errors } => Some(join_messages(errors)),
            RowOutcome::Valid { .. } => None,
        }
    }

    /// The warnings report's `warning_message`, when a valid row was cleaned.
    pub fn warning_message(&self) -> Option<String> {
        match self {
            RowOutcome::Valid { warnings, .. } if !warnings.is_empty() => {
                Some(join_messages(warnings))
            }
            _ => None,
        }
    }

    pub(crate) fn from_messages(
        change: Option<RowChange>,
        errors: Vec<RowError>,
        warnings: Vec<RowWarning>,
    ) -> RowOutcome {
        match change {
            Some(change) if errors.is_empty() => RowOutcome::Valid { change, warnings },
            _ => RowOutcome::Invalid { errors },
        }
    }
}

/// The change a valid row asks the catalog for; the caller applies it.
#[derive(Clone, Debug, PartialEq)]
pub enum RowChange {
    /// A catalog row: insert the product or replace the one with its id.
    Upsert(Box<Product>),
    /// A catalog row with `delete` true: remove the product with this id.
    Delete { id: String },
    /// An inventory row: set the quantity of an existing product.
    Inventory(InventoryUpdate),
}

impl RowChange {
    /// The feed id of the product the change is about.
    pub fn id(&self) -> &str {
        match self {
            RowChange::Upsert(product) => &product.id,
            RowChange::Delete { id } => id,
            RowChange::Inventory(update) => &update.id,
        }
    }
}
