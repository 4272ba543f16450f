//! The cleaned product: what a valid `product_catalog_feed` row becomes.
//!
//! Fields carry the contract's canonical names and serialize under them, so
//! the store can keep a product as JSON and the API can render
//! `catalog.product` from it: money as `{"amount": <minor units>, "currency":
//! "usd"}`, `additional_image_link` as the array `additional_image_links`,
//! enums in their canonical lower-case spelling.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dates::{DateInterval, FeedDate};
use crate::money::{Currency, Money};

/// An enum a feed writes as text. Cleaning accepts any letter case and
/// ignores spaces, `_` and `-`, then says so in a warning.
pub trait FeedEnum: Copy + Sized + 'static {
    /// Every value with its canonical spelling.
    const VARIANTS: &'static [(&'static str, Self)];

    /// The canonical spellings, for messages: `new, refurbished, used`.
    const ALLOWED: &'static str;

    /// The canonical spelling.
    fn as_str(self) -> &'static str;
}

macro_rules! feed_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl FeedEnum for $name {
            const VARIANTS: &'static [(&'static str, Self)] = &[$(($text, $name::$variant),)*];
            const ALLOWED: &'static str = feed_enum!(@join $($text,)*);

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                <$name as FeedEnum>::VARIANTS
                    .iter()
                    .find(|(spelling, _)| *spelling == text)
                    .map(|(_, value)| *value)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&text, &[$($text,)*]))
            }
        }
    };
    (@join $first:literal, $($rest:literal,)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}

feed_enum! {
    /// Whether a product can be bought now.
    Availability {
        InStock => "in_stock",
        OutOfStock => "out_of_stock",
        Preorder => "preorder",
        Backorder => "backorder",
    }
}

feed_enum! {
    Condition {
        New => "new",
        Refurbished => "refurbished",
        Used => "used",
    }
}

feed_enum! {
    AgeGroup {
        Newborn => "newborn",
        Infant => "infant",
        Toddler => "toddler",
        Kids => "kids",
        Adult => "adult",
    }
}

feed_enum! {
    Gender {
        Male => "male",
        Female => "female",
        Unisex => "unisex",
    }
}

feed_enum! {
    /// Whether `price` includes tax.
    TaxBehavior {
        Inclusive => "inclusive",
        Exclusive => "exclusive",
    }
}

feed_enum! {
    /// The country system a `size` is written in.
    SizeSystem {
        Au => "AU",
        Br => "BR",
        Cn => "CN",
        De => "DE",
        Eu => "EU",
        Fr => "FR",
        It => "IT",
        Jp => "JP",
        Mex => "MEX",
        Uk => "UK",
        Us => "US",
    }
}

feed_enum! {
    LengthUnit {
        Centimeter => "cm",
        Inch => "in",
    }
}

feed_enum! {
    WeightUnit {
        Gram => "g",
        Kilogram => "kg",
        Ounce => "oz",
        Pound => "lb",
    }
}

/// A number with its unit: `{"value": 20.0, "unit": "cm"}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure<Unit> {
    pub value: f64,
    pub unit: Unit,
}

/// One `country:region:service:price` entry of `shipping`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    pub region: Option<String>,
    pub service: Option<String>,
    pub price: Money,
}

/// A product or variant as a valid catalog row describes it. Absent
/// optional fields are left out of its JSON, which keeps a stored catalog
/// small; [`Product::field_names`] lets a reader show them as `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub description: String,
    pub link: String,
    pub brand: String,
    pub image_link: String,
    pub additional_image_links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_3d_link: Option<String>,
    pub availability: Availability,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_date: Option<FeedDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_quantity: Option<i64>,
    pub inventory_not_tracked: bool,
    pub price: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_price_effective_date: Option<DateInterval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_product_category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_group: Option<AgeGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<Measure<LengthUnit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<Measure<LengthUnit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<Measure<LengthUnit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<Measure<WeightUnit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_group_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_system: Option<SizeSystem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_tax_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_behavior: Option<TaxBehavior>,
    pub shipping: Vec<ShippingRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_shipping_threshold: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub popularity_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_review_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_review_rating: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<FeedDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_policy: Option<String>,
    /// Absent in the feed: `true`.
    pub enable_search: bool,
    /// Absent in the feed: the value of `enable_search`.
    pub enable_checkout: bool,
    /// Absent in the feed: `false`.
    pub disable_checkout: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_label_0: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_label_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_label_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_label_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_label_4: Option<String>,
}

impl Product {
    /// The name of every field of the product's JSON, in order.
    pub fn field_names() -> &'static [&'static str] {
        static NAMES: OnceLock<&'static [&'static str]> = OnceLock::new();
        NAMES.get_or_init(crate::field_names::of::<Product>)
    }

    /// A product with only its id, while the rest of its row is read. Every
    /// required field is then either replaced or the row fails, so this
    /// value never leaves the crate as it is.
    pub(crate) fn placeholder(id: String) -> Product {
        Product {
            id,
            title: String::new(),
            description: String::new(),
            link: String::new(),
            brand: String::new(),
            image_link: String::new(),
            additional_image_links: Vec::new(),
            video_link: None,
            model_3d_link: None,
            availability: Availability::InStock,
            availability_date: None,
            inventory_quantity: None,
            inventory_not_tracked: false,
            price: Money {
                amount_minor: 0,
                currency: Currency::placeholder(),
            },
            sale_price: None,
            sale_price_effective_date: None,
            gtin: None,
            mpn: None,
            google_product_category: None,
            product_category: None,
            condition: None,
            age_group: None,
            material: None,
            length: None,
            width: None,
            height: None,
            weight: None,
            item_group_id: None,
            item_group_title: None,
            color: None,
            size: None,
            size_system: None,
            gender: None,
            product_tax_code: None,
            tax_behavior: None,
            shipping: Vec::new(),
            free_shipping_threshold: None,
            popularity_score: None,
            return_rate: None,
            product_review_count: None,
            product_review_rating: None,
            expiration_date: None,
            seller_name: None,
            seller_url: None,
            return_policy: None,
            enable_search: true,
            enable_checkout: true,
            disable_checkout: false,
            custom_label_0: None,
            custom_label_1: None,
            custom_label_2: None,
            custom_label_3: None,
            custom_label_4: None,
        }
    }

    /// Whether agents may sell this product through checkout.
    pub fn checkout_enabled(&self) -> bool {
        self.enable_search && self.enable_checkout && !self.disable_checkout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_list_their_spellings() {
        assert_eq!(
            Availability::ALLOWED,
            "in_stock, out_of_stock, preorder, backorder"
        );
        assert_eq!(WeightUnit::ALLOWED, "g, kg, oz, lb");
        let json = serde_json::to_string(&Availability::OutOfStock).unwrap_or_default();
        assert_eq!(json, r#""out_of_stock""#);
        let parsed: Result<SizeSystem, _> = serde_json::from_str(r#""MEX""#);
        assert_eq!(parsed.ok(), Some(SizeSystem::Mex));
    }
}
