//! Every rule of the `product_catalog_feed` columns, applied to one row, and
//! the cleaning each column gets. The generic readers live in
//! [`crate::rules`]; what is particular to one column lives here.
//!
//! A row whose `delete` is true needs only a valid `id`: its other cells are
//! not read, since the product is going away.

use crate::columns::Column;
use crate::dates::{DateInterval, IntervalProblem};
use crate::gtin::{check_gtin, remove_gtin_separators, GtinProblem};
use crate::header::Cells;
use crate::html::html_to_plain_text;
use crate::messages::{Quoted, RowError, RowWarning};
use crate::money::Money;
use crate::product::{
    Availability, FeedEnum, LengthUnit, Measure, Product, ShippingRate, WeightUnit,
};
use crate::row::{RowChange, RowOutcome};
use crate::rules::{parse_plain_decimal, RowCheck};

/// Length limits, in characters, of the text columns that have one.
const ID_MAX_CHARS: usize = 100;
const TITLE_MAX_CHARS: usize = 150;
const DESCRIPTION_MAX_CHARS: usize = 5_000;
const BRAND_MAX_CHARS: usize = 70;
const MPN_MAX_CHARS: usize = 70;
const MATERIAL_MAX_CHARS: usize = 100;
const ITEM_GROUP_ID_MAX_CHARS: usize = 70;
const ITEM_GROUP_TITLE_MAX_CHARS: usize = 150;
const COLOR_MAX_CHARS: usize = 40;
const SIZE_MAX_CHARS: usize = 20;
const SELLER_NAME_MAX_CHARS: usize = 70;
const CUSTOM_LABEL_MAX_CHARS: usize = 100;

/// Validates and cleans one catalog row.
pub(crate) fn validate_product_row(cells: Cells<'_>) -> RowOutcome {
    let mut check = RowCheck::new(cells);

    let id = product_id(&mut check);

    let change = if check.boolean(Column::Delete) == Some(true) {
        id.map(|id| RowChange::Delete { id })
    } else {
        let product = read_product(&mut check, id.unwrap_or_default());
        Some(RowChange::Upsert(Box::new(product)))
    };

    let (errors, warnings) = check.into_messages();
    RowOutcome::from_messages(change, errors, warnings)
}

/// `id`: required, 1-100 characters, no control characters.
pub(crate) fn product_id(check: &mut RowCheck<'_>) -> Option<String> {
    let id = check.required_text(Column::Id, ID_MAX_CHARS)?;
    if id.chars().any(char::is_control) {
        check.fail(RowError::IdHasControlCharacter {
            value: Quoted::new(&id),
        });
        return None;
    }
    Some(id)
}

fn read_product(check: &mut RowCheck<'_>, id: String) -> Product {
    let mut product = Product::placeholder(id);
    read_descriptive_fields(check, &mut product);
    read_offer_fields(check, &mut product);
    read_identifier_fields(check, &mut product);
    read_physical_fields(check, &mut product);
    read_commerce_fields(check, &mut product);
    read_eligibility_fields(check, &mut product);
    read_custom_labels(check, &mut product);
    product
}

fn read_descriptive_fields(check: &mut RowCheck<'_>, product: &mut Product) {
    product.title = check
        .required_text(Column::Title, TITLE_MAX_CHARS)
        .unwrap_or_default();
    product.description = description(check).unwrap_or_default();
    product.link = check.required_url(Column::Link).unwrap_or_default();
    product.brand = check
        .required_text(Column::Brand, BRAND_MAX_CHARS)
        .unwrap_or_default();
    product.image_link = check.required_url(Column::ImageLink).unwrap_or_default();
    product.additional_image_links = additional_image_links(check);
    product.video_link = check.url(Column::VideoLink);
    product.model_3d_link = check.url(Column::Model3dLink);
}

fn read_offer_fields(check: &mut RowCheck<'_>, product: &mut Product) {
    let availability = check.required_choice::<Availability>(Column::Availability);
    product.availability = availability.unwrap_or(Availability::InStock);
    product.availability_date = check.date(Column::AvailabilityDate);
    if availability == Some(Availability::Preorder) && check.is_blank(Column::AvailabilityDate) {
        check.fail(RowError::AvailabilityDateRequiredForPreorder);
    }

    product.inventory_quantity = check.count(Column::InventoryQuantity);
    product.inventory_not_tracked = check.boolean(Column::InventoryNotTracked).unwrap_or(false);
    if check.is_blank(Column::InventoryQuantity) && !product.inventory_not_tracked {
        check.fail(RowError::QuantityRequiredWhenTracked);
    }

    let price = check.required_price(Column::Price);
    product.price = price.unwrap_or(product.price);
    product.sale_price = check.price(Column::SalePrice);
    check_sale_price(check, price, product.sale_price);
    product.sale_price_effective_date = sale_price_effective_date(check);
    if !check.is_blank(Column::SalePrice) && check.is_blank(Column::SalePriceEffectiveDate) {
        check.fail(RowError::SaleDatesRequiredForSalePrice);
    }
}

fn read_identifier_fields(check: &mut RowCheck<'_>, product: &mut Product) {
    product.gtin = gtin(check);
    product.mpn = check.text(Column::Mpn, MPN_MAX_CHARS);
    require_one_of(check, Column::Gtin, Column::Mpn);

    product.google_product_category = category(check, Column::GoogleProductCategory);
    product.product_category = category(check, Column::ProductCategory);
    require_one_of(
        check,
        Column::GoogleProductCategory,
        Column::ProductCategory,
    );

    product.item_group_id = check.text(Column::ItemGroupId, ITEM_GROUP_ID_MAX_CHARS);
    product.item_group_title = check.text(Column::ItemGroupTitle, ITEM_GROUP_TITLE_MAX_CHARS);
}

fn read_physical_fields(check: &mut RowCheck<'_>, product: &mut Product) {
    product.condition = check.choice(Column::Condition);
    product.age_group = check.choice(Column::AgeGroup);
    product.material = check.text(Column::Material, MATERIAL_MAX_CHARS);
    product.length = length(check, Column::Length);
    product.width = length(check, Column::Width);
    product.height = length(check, Column::Height);
    product.weight = weight(check);
    product.color = check.text(Column::Color, COLOR_MAX_CHARS);
    product.size = check.text(Column::Size, SIZE_MAX_CHARS);
    product.size_system = check.choice(Column::SizeSystem);
    product.gender = check.choice(Column::Gender);
}

fn read_commerce_fields(check: &mut RowCheck<'_>, product: &mut Product) {
    product.product_tax_code = product_tax_code(check);
    product.tax_behavior = check.choice(Column::TaxBehavior);
    product.shipping = shipping(check);
    product.free_shipping_threshold = check.price(Column::FreeShippingThreshold);
    product.popularity_score = check.score(Column::PopularityScore, 5);
    product.return_rate = check.score(Column::ReturnRate, 100);
    product.product_review_count = check.count(Column::ProductReviewCount);
    product.product_review_rating = check.score(Column::ProductReviewRating, 5);
    product.expiration_date = check.date(Column::ExpirationDate);
    product.seller_name = check.text(Column::SellerName, SELLER_NAME_MAX_CHARS);
    product.seller_url = check.url(Column::SellerUrl);
    product.return_policy = check.url(Column::ReturnPolicy);
}

/// `enable_search` defaults to true, `enable_checkout` to `enable_search`,
/// and checkout may be enabled only where search is.
fn read_eligibility_fields(check: &mut RowCheck<'_>, product: &mut Product) {
    let enable_search = check.boolean(Column::EnableSearch);
    let enable_checkout = check.boolean(Column::EnableCheckout);
    product.enable_search = enable_search.unwrap_or(true);
    product.enable_checkout = enable_checkout.unwrap_or(product.enable_search);
    product.disable_checkout = check.boolean(Column::DisableCheckout).unwrap_or(false);
    if enable_checkout == Some(true) && enable_search == Some(false) {
        let value = Quoted::new(check.written(Column::EnableCheckout));
        check.fail(RowError::CheckoutWithoutSearch { value });
    }
}

fn read_custom_labels(check: &mut RowCheck<'_>, product: &mut Product) {
    product.custom_label_0 = check.text(Column::CustomLabel0, CUSTOM_LABEL_MAX_CHARS);
    product.custom_label_1 = check.text(Column::CustomLabel1, CUSTOM_LABEL_MAX_CHARS);
    product.custom_label_2 = check.text(Column::CustomLabel2, CUSTOM_LABEL_MAX_CHARS);
    product.custom_label_3 = check.text(Column::CustomLabel3, CUSTOM_LABEL_MAX_CHARS);
    product.custom_label_4 = check.text(Column::CustomLabel4, CUSTOM_LABEL_MAX_CHARS);
}

fn require_one_of(check: &mut RowCheck<'_>, first: Column, second: Column) {
    if check.is_blank(first) && check.is_blank(second) {
        check.fail(RowError::OneOfRequired { first, second });
    }
}

/// `description`: HTML becomes plain text (with a warning), then 1-5,000
/// characters.
fn description(check: &mut RowCheck<'_>) -> Option<String> {
    let value = check.required(Column::Description)?;
    let text = match html_to_plain_text(value) {
        Some(plain_text) => {
            check.warn(RowWarning::HtmlRemoved);
            plain_text
        }
        None => value.to_owned(),
    };
    if text.is_empty() {
        check.fail(RowError::NoTextAfterHtml {
            value: Quoted::new(value),
        });
        return None;
    }
    check
        .check_length(Column::Description, &text, DESCRIPTION_MAX_CHARS)
        .then_some(text)
}

/// `additional_image_link`: comma-separated URLs; empty entries are skipped.
fn additional_image_links(check: &mut RowCheck<'_>) -> Vec<String> {
    let Some(value) = check.value(Column::AdditionalImageLink) else {
        return Vec::new();
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|link| !link.is_empty())
        .filter_map(|link| check.check_url(Column::AdditionalImageLink, link))
        .collect()
}

fn check_sale_price(check: &mut RowCheck<'_>, price: Option<Money>, sale_price: Option<Money>) {
    let (Some(price), Some(sale_price)) = (price, sale_price) else {
        return;
    };
    let value = Quoted::new(check.written(Column::SalePrice));
    if sale_price.currency != price.currency {
        check.fail(RowError::SalePriceCurrency {
            value,
            sale_code: sale_price.currency.code(),
            price_code: price.currency.code(),
        });
    } else if sale_price.amount_minor > price.amount_minor {
        let price = Quoted::new(check.written(Column::Price));
        check.fail(RowError::SalePriceAbovePrice { value, price });
    }
}

fn sale_price_effective_date(check: &mut RowCheck<'_>) -> Option<DateInterval> {
    let value = check.value(Column::SalePriceEffectiveDate)?;
    match DateInterval::parse(value) {
        Ok(interval) => Some(interval),
        Err(problem) => {
            let value = Quoted::new(value);
            check.fail(match problem {
                IntervalProblem::NotInterval => RowError::NotInterval { value },
                IntervalProblem::NotOrdered => RowError::IntervalNotOrdered { value },
            });
            None
        }
    }
}

/// `gtin`: spaces and dashes are removed (with a warning), then 8, 12, 13 or
/// 14 digits with a valid check digit.
fn gtin(check: &mut RowCheck<'_>) -> Option<String> {
    let value = check.value(Column::Gtin)?;
    let digits = if value.contains([' ', '-']) {
        remove_gtin_separators(value)
    } else {
        value.to_owned()
    };
    match check_gtin(&digits) {
        Ok(()) => {
            check.warn_if_rewritten(Column::Gtin, value, &digits);
            Some(digits)
        }
        Err(GtinProblem::NotGtin) => {
            check.fail(RowError::NotGtin {
                value: Quoted::new(value),
            });
            None
        }
        Err(GtinProblem::WrongCheckDigit { expected }) => {
            check.fail(RowError::GtinCheckDigit {
                value: Quoted::new(value),
                expected,
            });
            None
        }
    }
}

/// A category path: levels separated by ` > `; other spacing around `>` is
/// rewritten with a warning, an empty level is an error.
fn category(check: &mut RowCheck<'_>, column: Column) -> Option<String> {
    let value = check.value(column)?;
    if value.split('>').any(|level| level.trim().is_empty()) {
        check.fail(RowError::EmptyCategoryLevel {
            column,
            value: Quoted::new(value),
        });
        return None;
    }
    if is_canonical_category_path(value) {
        return Some(value.to_owned());
    }
    let levels: Vec<&str> = value.split('>').map(str::trim).collect();
    let canonical = levels.join(" > ");
    check.warn_if_rewritten(column, value, &canonical);
    Some(canonical)
}

/// Whether every level is separated by exactly ` > ` and carries no spaces
/// at its edges.
fn is_canonical_category_path(value: &str) -> bool {
    value
        .split(" > ")
        .all(|level| !level.contains('>') && level.trim().len() == level.len())
}

fn length(check: &mut RowCheck<'_>, column: Column) -> Option<Measure<LengthUnit>> {
    let value = check.value(column)?;
    let measure = read_measure(check, column, value);
    if measure.is_none() {
        check.fail(RowError::NotDimension {
            column,
            value: Quoted::new(value),
        });
    }
    measure
}

fn weight(check: &mut RowCheck<'_>) -> Option<Measure<WeightUnit>> {
    let value = check.value(Column::Weight)?;
    let measure = read_measure(check, Column::Weight, value);
    if measure.is_none() {
        check.fail(RowError::NotWeight {
            value: Quoted::new(value),
        });
    }
    measure
}

/// A number and a unit, `20 cm`; `20cm` and `20 CM` are rewritten with a warning.
fn read_measure<Unit: FeedEnum>(
    check: &mut RowCheck<'_>,
    column: Column,
    value: &str,
) -> Option<Measure<Unit>> {
    let number_end = value
        .find(|character: char| !(character.is_ascii_digit() || character == '.'))
        .unwrap_or(value.len());
    let (number_text, unit_text) = value.split_at(number_end);
    let number = parse_plain_decimal(number_text)?;
    let (spelling, unit) = Unit::VARIANTS
        .iter()
        .find(|(spelling, _)| spelling.eq_ignore_ascii_case(unit_text.trim()))?;
    if unit_text.strip_prefix(' ') != Some(*spelling) {
        check.warn_if_rewritten(column, value, &format!("{number_text} {spelling}"));
    }
    Some(Measure {
        value: number,
        unit: *unit,
    })
}

/// `product_tax_code`: a Stripe tax code, `txcd_` and eight digits.
fn product_tax_code(check: &mut RowCheck<'_>) -> Option<String> {
    let value = check.value(Column::ProductTaxCode)?;
    let is_tax_code = value.strip_prefix("txcd_").is_some_and(|digits| {
        digits.len() == 8 && digits.bytes().all(|byte| byte.is_ascii_digit())
    });
    if !is_tax_code {
        check.fail(RowError::NotTaxCode {
            value: Quoted::new(value),
        });
        return None;
    }
    Some(value.to_owned())
}

/// `shipping`: `country:region:service:price` entries separated by `;`.
fn shipping(check: &mut RowCheck<'_>) -> Vec<ShippingRate> {
    let Some(value) = check.value(Column::Shipping) else {
        return Vec::new();
    };
    value
        .split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| shipping_rate(check, entry))
        .collect()
}

/// One entry: a two-letter country (upper-cased with a warning), an
/// optional region and service, and a price.
fn shipping_rate(check: &mut RowCheck<'_>, entry: &str) -> Option<ShippingRate> {
    let mut parts = entry.split(':').map(str::trim);
    let parts = [
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ];
    let [Some(country), Some(region), Some(service), Some(price), None] = parts else {
        check.fail(RowError::NotShipping {
            value: Quoted::new(entry),
        });
        return None;
    };
    let is_country = country.len() == 2 && country.bytes().all(|byte| byte.is_ascii_alphabetic());
    if !is_country || price.is_empty() {
        check.fail(RowError::NotShipping {
            value: Quoted::new(entry),
        });
        return None;
    }

    let upper_case_country = country.to_ascii_uppercase();
    check.warn_if_rewritten(Column::Shipping, country, &upper_case_country);
    let price = check.read_price(Column::Shipping, price)?;
    let optional = |part: &str| (!part.is_empty()).then(|| part.to_owned());
    Some(ShippingRate {
        country: upper_case_country,
        region: optional(region),
        service: optional(service),
        price,
    })
}

#[cfg(test)]
mod tests;
