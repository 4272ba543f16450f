//! `inventory_feed` rows: a quantity (and optionally an availability) for a
//! product already in the catalog, and the rule for the availability that
//! follows from the quantity.
//!
//! Whether the product exists is for the caller to check, against the
//! catalog of the same account and mode ([`RowError::NotInCatalog`]).
//!
//! [`RowError::NotInCatalog`]: crate::messages::RowError::NotInCatalog

use serde::{Deserialize, Serialize};

use crate::columns::Column;
use crate::header::Cells;
use crate::product::Availability;
use crate::product_rules::product_id;
use crate::row::{RowChange, RowOutcome};
use crate::rules::RowCheck;

/// What a valid inventory row asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryUpdate {
    pub id: String,
    pub inventory_quantity: i64,
    /// Given in the feed; when absent the availability follows the quantity.
    pub availability: Option<Availability>,
}

impl InventoryUpdate {
    /// The product's availability after this update, given its current one:
    /// the feed's own value when it has one; otherwise a preorder or
    /// backorder product keeps its availability, and any other becomes
    /// `out_of_stock` at 0 and `in_stock` above.
    pub fn next_availability(&self, current: Availability) -> Availability {
        if let Some(availability) = self.availability {
            return availability;
        }
        match current {
            Availability::Preorder | Availability::Backorder => current,
            Availability::InStock | Availability::OutOfStock if self.inventory_quantity == 0 => {
                Availability::OutOfStock
            }
            Availability::InStock | Availability::OutOfStock => Availability::InStock,
        }
    }
}

/// Validates and cleans one inventory row.
pub(crate) fn validate_inventory_row(cells: Cells<'_>) -> RowOutcome {
    let mut check = RowCheck::new(cells);

    let id = product_id(&mut check);
    let inventory_quantity = check.required_count(Column::InventoryQuantity);
    let availability = check.choice::<Availability>(Column::Availability);

    let change = match (id, inventory_quantity) {
        (Some(id), Some(inventory_quantity)) => Some(RowChange::Inventory(InventoryUpdate {
            id,
            inventory_quantity,
            availability,
        })),
        _ => None,
    };
    let (errors, warnings) = check.into_messages();
    RowOutcome::from_messages(change, errors, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::join_messages;

    fn check(pairs: &[(Column, &str)], expect: &str) {
        let outcome = validate_inventory_row(Cells::from_pairs(pairs));
        let actual = match outcome {
            RowOutcome::Valid { change, warnings } => {
                let warnings = join_messages(&warnings);
                format!("{change:?} warnings [{warnings}]")
            }
            RowOutcome::Invalid { errors } => format!("error: {}", join_messages(&errors)),
        };
        assert_eq!(actual, expect, "row {pairs:?}");
    }

    #[rustfmt::skip]
    #[test]
    fn inventory_rows() {
        use Column::{Availability as A, Id, InventoryQuantity as Q};
        check(&[(Id, "sku-1"), (Q, "7")], r#"Inventory(InventoryUpdate { id: "sku-1", inventory_quantity: 7, availability: None }) warnings []"#);
        check(&[(Id, "sku-1"), (Q, "0"), (A, "in stock")], r#"Inventory(InventoryUpdate { id: "sku-1", inventory_quantity: 0, availability: Some(InStock) }) warnings [availability: "in stock" was read as "in_stock"]"#);
        check(&[(Id, " sku-1"), (Q, "7")], r#"Inventory(InventoryUpdate { id: "sku-1", inventory_quantity: 7, availability: None }) warnings [id: spaces around the value were removed]"#);
        check(&[(Id, "sku-1")], "error: inventory_quantity: a value is required");
        check(&[(Q, "3")], "error: id: a value is required");
        check(&[(Id, "sku-1"), (Q, "-1")], r#"error: inventory_quantity: "-1" is not a whole number of 0 or more"#);
        check(&[(Id, "sku-1"), (Q, "2.5")], r#"error: inventory_quantity: "2.5" is not a whole number of 0 or more"#);
        check(&[(Id, "sku-1"), (Q, "lots")], r#"error: inventory_quantity: "lots" is not a whole number of 0 or more"#);
        check(&[(Id, "sku-1"), (Q, "99999999999999999999")], r#"error: inventory_quantity: "99999999999999999999" is not a whole number of 0 or more"#);
        check(&[(Id, "sku-1"), (Q, "1"), (A, "sold")], r#"error: availability: "sold" is not one of in_stock, out_of_stock, preorder, backorder"#);
    }

    #[test]
    fn availability_follows_quantity_unless_preorder_or_backorder() {
        use Availability::{Backorder, InStock, OutOfStock, Preorder};
        let cases = [
            (InStock, 0, None, OutOfStock),
            (InStock, 5, None, InStock),
            (OutOfStock, 5, None, InStock),
            (OutOfStock, 0, None, OutOfStock),
            (Preorder, 0, None, Preorder),
            (Preorder, 5, None, Preorder),
            (Backorder, 0, None, Backorder),
            (Backorder, 5, None, Backorder),
            (Preorder, 5, Some(InStock), InStock),
            (InStock, 0, Some(Backorder), Backorder),
        ];
        for (current, inventory_quantity, availability, expect) in cases {
            let update = InventoryUpdate {
                id: "sku-1".to_owned(),
                inventory_quantity,
                availability,
            };
            assert_eq!(
                update.next_availability(current),
                expect,
                "{update:?} from {current}"
            );
        }
    }
}
