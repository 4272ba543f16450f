//! The columns a feed may carry, their aliases, and which of them each feed
//! format requires.
//!
//! A header name is matched case-insensitively after trimming, then an alias
//! is replaced by its canonical name. Everything downstream addresses a cell
//! by its [`Column`], never by the name the merchant wrote.

use std::fmt;

/// The two standard data formats an ImportSet can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    /// `product_catalog_feed`: one row per product or variant, upserted by id.
    ProductCatalog,
    /// `inventory_feed`: quantity (and optionally availability) by id.
    Inventory,
}

impl FeedFormat {
    /// The `standard_data_format` value that names this format.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::ProductCatalog => "product_catalog_feed",
            FeedFormat::Inventory => "inventory_feed",
        }
    }

    /// The format named by a `standard_data_format` value, if any.
    pub fn from_standard_data_format(name: &str) -> Option<FeedFormat> {
        match name {
            "product_catalog_feed" => Some(FeedFormat::ProductCatalog),
            "inventory_feed" => Some(FeedFormat::Inventory),
            _ => None,
        }
    }

    /// The columns every file of this format must have in its header.
    pub fn required_columns(self) -> &'static [Column] {
        match self {
            FeedFormat::ProductCatalog => PRODUCT_REQUIRED_COLUMNS,
            FeedFormat::Inventory => INVENTORY_REQUIRED_COLUMNS,
        }
    }

    /// The canonical column for a header name in this format, or `None` when
    /// the format does not know the name.
    pub fn column_for_header_name(self, header_name: &str) -> Option<Column> {
        let name = header_name.trim().to_lowercase();
        let canonical_name = canonical_name_for_alias(self, &name).unwrap_or(&name);
        let column = Column::from_canonical_name(canonical_name)?;
        self.accepts(column).then_some(column)
    }

    fn accepts(self, column: Column) -> bool {
        match self {
            FeedFormat::ProductCatalog => true,
            FeedFormat::Inventory => INVENTORY_COLUMNS.contains(&column),
        }
    }
}

impl fmt::Display for FeedFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

fn canonical_name_for_alias(format: FeedFormat, name: &str) -> Option<&'static str> {
    let aliases: &[(&str, &str)] = match format {
        FeedFormat::ProductCatalog => PRODUCT_ALIASES,
        FeedFormat::Inventory => INVENTORY_ALIASES,
    };
    aliases
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, canonical)| *canonical)
}

const PRODUCT_ALIASES: &[(&str, &str)] = &[
    ("item_id", "id"),
    ("url", "link"),
    ("image_url", "image_link"),
    ("is_eligible_search", "enable_search"),
    ("is_eligible_checkout", "enable_checkout"),
];

const INVENTORY_ALIASES: &[(&str, &str)] = &[("item_id", "id"), ("sku_id", "id")];

const PRODUCT_REQUIRED_COLUMNS: &[Column] = &[
    Column::Id,
    Column::Title,
    Column::Description,
    Column::Link,
    Column::Brand,
    Column::ImageLink,
    Column::Availability,
    Column::Price,
];

const INVENTORY_REQUIRED_COLUMNS: &[Column] = &[Column::Id, Column::InventoryQuantity];

const INVENTORY_COLUMNS: &[Column] = &[Column::Id, Column::InventoryQuantity, Column::Availability];

macro_rules! define_columns {
    ($($variant:ident => $name:literal,)*) => {
        /// A canonical feed column. Its discriminant indexes per-row cell arrays.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Column {
            $($variant,)*
        }

        impl Column {
            /// Every column, in discriminant order.
            pub const ALL: &'static [Column] = &[$(Column::$variant,)*];

            /// How many columns there are.
            pub const COUNT: usize = Column::ALL.len();

            /// The canonical name, as the contract and the messages spell it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Column::$variant => $name,)*
                }
            }

            fn from_canonical_name(name: &str) -> Option<Column> {
                match name {
                    $($name => Some(Column::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

define_columns! {
    Id => "id",
    Title => "title",
    Description => "description",
    Link => "link",
    Brand => "brand",
    ImageLink => "image_link",
    Availability => "availability",
    Price => "price",
    Gtin => "gtin",
    Mpn => "mpn",
    GoogleProductCategory => "google_product_category",
    ProductCategory => "product_category",
    InventoryQuantity => "inventory_quantity",
    InventoryNotTracked => "inventory_not_tracked",
    AvailabilityDate => "availability_date",
    SalePrice => "sale_price",
    SalePriceEffectiveDate => "sale_price_effective_date",
    AdditionalImageLink => "additional_image_link",
    VideoLink => "video_link",
    Model3dLink => "model_3d_link",
    Condition => "condition",
    AgeGroup => "age_group",
    Material => "material",
    Length => "length",
    Width => "width",
    Height => "height",
    Weight => "weight",
    ItemGroupId => "item_group_id",
    ItemGroupTitle => "item_group_title",
    Color => "color",
    Size => "size",
    SizeSystem => "size_system",
    Gender => "gender",
    ProductTaxCode => "product_tax_code",
    TaxBehavior => "tax_behavior",
    Shipping => "shipping",
    FreeShippingThreshold => "free_shipping_threshold",
    PopularityScore => "popularity_score",
    ReturnRate => "return_rate",
    ProductReviewCount => "product_review_count",
    ProductReviewRating => "product_review_rating",
    ExpirationDate => "expiration_date",
    SellerName => "seller_name",
    SellerUrl => "seller_url",
    ReturnPolicy => "return_policy",
    EnableSearch => "enable_search",
    EnableCheckout => "enable_checkout",
    DisableCheckout => "disable_checkout",
    Delete => "delete",
    CustomLabel0 => "custom_label_0",
    CustomLabel1 => "custom_label_1",
    CustomLabel2 => "custom_label_2",
    CustomLabel3 => "custom_label_3",
    CustomLabel4 => "custom_label_4",
}

impl Column {
    /// The position of this column in a per-row cell array.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Column {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: FeedFormat, header_name: &str, expect: Option<&str>) {
        let column = format.column_for_header_name(header_name);
        assert_eq!(
            column.map(Column::name),
            expect,
            "header name {header_name:?}"
        );
    }

    #[rustfmt::skip]
    #[test]
    fn header_names_map_to_canonical_columns() {
        check(FeedFormat::ProductCatalog, "id", Some("id"));
        check(FeedFormat::ProductCatalog, " ID ", Some("id"));
        check(FeedFormat::ProductCatalog, "Item_ID", Some("id"));
        check(FeedFormat::ProductCatalog, "url", Some("link"));
        check(FeedFormat::ProductCatalog, "image_url", Some("image_link"));
        check(FeedFormat::ProductCatalog, "is_eligible_search", Some("enable_search"));
        check(FeedFormat::ProductCatalog, "is_eligible_checkout", Some("enable_checkout"));
        check(FeedFormat::ProductCatalog, "custom_label_4", Some("custom_label_4"));
        check(FeedFormat::ProductCatalog, "sku_id", None);
        check(FeedFormat::ProductCatalog, "colour", None);
        check(FeedFormat::Inventory, "sku_id", Some("id"));
        check(FeedFormat::Inventory, "ITEM_ID", Some("id"));
        check(FeedFormat::Inventory, "inventory_quantity", Some("inventory_quantity"));
        check(FeedFormat::Inventory, "availability", Some("availability"));
        check(FeedFormat::Inventory, "title", None);
    }

    #[test]
    fn every_column_name_round_trips() {
        for (position, column) in Column::ALL.iter().enumerate() {
            assert_eq!(column.index(), position);
            assert_eq!(Column::from_canonical_name(column.name()), Some(*column));
        }
    }
}
