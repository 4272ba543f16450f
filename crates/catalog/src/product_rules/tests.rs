//! Every rule of the `product_catalog_feed` columns, one case per line: a row
//! that differs from a valid baseline in the cells given, and the exact
//! result (`ok`, `ok; warnings: ...` or `error: ...`, as the reports print
//! the messages).

use super::validate_product_row;
use crate::columns::Column::{self, *};
use crate::header::Cells;
use crate::messages::join_messages;
use crate::row::{RowChange, RowOutcome};

const BASELINE: &[(Column, &str)] = &[
    (Id, "sku-1"),
    (Title, "Blue mug"),
    (Description, "A blue mug that holds 300 ml."),
    (Link, "https://example.com/mug"),
    (Brand, "Acme"),
    (ImageLink, "https://example.com/mug.jpg"),
    (Availability, "in_stock"),
    (Price, "15.00 USD"),
    (Gtin, "4006381333931"),
    (ProductCategory, "Home > Kitchen > Mugs"),
    (InventoryQuantity, "7"),
];

fn outcome(changes: &[(Column, &str)]) -> RowOutcome {
    let mut pairs = BASELINE.to_vec();
    for (column, value) in changes {
        match pairs.iter_mut().find(|(existing, _)| existing == column) {
            Some(pair) => pair.1 = value,
            None => pairs.push((*column, value)),
        }
    }
    validate_product_row(Cells::from_pairs(&pairs))
}

fn check(changes: &[(Column, &str)], expect: &str) {
    let actual = match outcome(changes) {
        RowOutcome::Valid { warnings, .. } if warnings.is_empty() => "ok".to_owned(),
        RowOutcome::Valid { warnings, .. } => format!("ok; warnings: {}", join_messages(&warnings)),
        RowOutcome::Invalid { errors } => format!("error: {}", join_messages(&errors)),
    };
    assert_eq!(actual, expect, "changes {changes:?}");
}

/// Checks one field of the cleaned product, as JSON.
fn check_field(changes: &[(Column, &str)], field: &str, expect: &str) {
    let actual = match outcome(changes) {
        RowOutcome::Valid {
            change: RowChange::Upsert(product),
            ..
        } => serde_json::to_value(&product)
            .map(|json| json[field].to_string())
            .unwrap_or_default(),
        other => format!("{other:?}"),
    };
    assert_eq!(actual, expect, "changes {changes:?}");
}

fn too_long(column: &str, length: usize, max: usize) -> String {
    let quoted = if length > 80 {
        format!("\"{}...\"", "x".repeat(60))
    } else {
        format!("\"{}\"", "x".repeat(length))
    };
    format!("error: {column}: {quoted} is {length} characters long; at most {max} are allowed")
}

#[test]
fn the_baseline_is_valid() {
    check(&[], "ok");
}

#[rustfmt::skip]
#[test]
fn id() {
    check(&[(Id, "")], "error: id: a value is required");
    check(&[(Id, "   ")], "error: id: a value is required");
    check(&[(Id, &"x".repeat(100))], "ok");
    check(&[(Id, &"x".repeat(101))], &too_long("id", 101, 100));
    check(&[(Id, "sku\n1")], r#"error: id: "sku\n1" contains a control character"#);
    check(&[(Id, " sku-1 ")], "ok; warnings: id: spaces around the value were removed");
}

#[rustfmt::skip]
#[test]
fn title_brand_and_description() {
    check(&[(Title, "")], "error: title: a value is required");
    check(&[(Title, &"x".repeat(150))], "ok");
    check(&[(Title, &"x".repeat(151))], &too_long("title", 151, 150));
    check(&[(Title, &"é".repeat(150))], "ok");
    check(&[(Title, " Blue mug\t")], "ok; warnings: title: spaces around the value were removed");
    check(&[(Brand, "")], "error: brand: a value is required");
    check(&[(Brand, &"x".repeat(71))], &too_long("brand", 71, 70));
    check(&[(Description, "")], "error: description: a value is required");
    check(&[(Description, &"x".repeat(5_000))], "ok");
    check(&[(Description, &"x".repeat(5_001))], &too_long("description", 5_001, 5_000));
    check(&[(Description, &"x".repeat(1_048_577))], &too_long("description", 1_048_577, 5_000));
    check(&[(Description, "<p>A <b>blue</b> mug</p>")], "ok; warnings: description: HTML was converted to plain text");
    check(&[(Description, "<p></p>")], r#"error: description: "<p></p>" has no text once HTML is removed"#);
    check(&[(Description, "5 < 7 & 8 > 2")], "ok");
    check_field(&[(Description, "<p>A <b>blue</b> mug &amp; saucer.</p><p>300 ml.</p>")], "description", r#""A blue mug & saucer.\n300 ml.""#);
}

#[rustfmt::skip]
#[test]
fn links() {
    check(&[(Link, "")], "error: link: a value is required");
    check(&[(Link, "example.com/mug")], r#"error: link: "example.com/mug" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check(&[(Link, "ftp://example.com/mug")], r#"error: link: "ftp://example.com/mug" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check(&[(ImageLink, "")], "error: image_link: a value is required");
    check(&[(ImageLink, "/mug.jpg")], r#"error: image_link: "/mug.jpg" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check(&[(VideoLink, "https://example.com/mug.mp4")], "ok");
    check(&[(VideoLink, "mug.mp4")], r#"error: video_link: "mug.mp4" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check(&[(Model3dLink, "https:// example.com/mug.glb")], r#"error: model_3d_link: "https:// example.com/mug.glb" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check(&[(AdditionalImageLink, "https://example.com/1.jpg,https://example.com/2.jpg")], "ok");
    check(&[(AdditionalImageLink, "https://example.com/1.jpg, 2.jpg")], r#"error: additional_image_link: "2.jpg" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check_field(&[(AdditionalImageLink, "https://example.com/1.jpg, https://example.com/2.jpg,")], "additional_image_links", r#"["https://example.com/1.jpg","https://example.com/2.jpg"]"#);
    check_field(&[], "additional_image_links", "[]");
    check(&[(SellerUrl, "https://seller.example.com")], "ok");
    check(&[(SellerUrl, "seller")], r#"error: seller_url: "seller" is not an absolute http or https URL, such as "https://example.com/mug""#);
    check(&[(ReturnPolicy, "www.example.com/returns")], r#"error: return_policy: "www.example.com/returns" is not an absolute http or https URL, such as "https://example.com/mug""#);
}

#[rustfmt::skip]
#[test]
fn availability() {
    check(&[(Availability, "")], "error: availability: a value is required");
    check(&[(Availability, "sold out")], r#"error: availability: "sold out" is not one of in_stock, out_of_stock, preorder, backorder"#);
    check(&[(Availability, "out_of_stock")], "ok");
    check(&[(Availability, "backorder")], "ok");
    check(&[(Availability, "in stock")], r#"ok; warnings: availability: "in stock" was read as "in_stock""#);
    check(&[(Availability, "In_Stock")], r#"ok; warnings: availability: "In_Stock" was read as "in_stock""#);
    check(&[(Availability, "OUT-OF-STOCK")], r#"ok; warnings: availability: "OUT-OF-STOCK" was read as "out_of_stock""#);
    check(&[(Availability, "pre_order"), (AvailabilityDate, "2025-03-01")], r#"ok; warnings: availability: "pre_order" was read as "preorder""#);
    check(&[(Availability, " in stock ")], r#"ok; warnings: availability: spaces around the value were removed; availability: "in stock" was read as "in_stock""#);
    check_field(&[(Availability, "Back Order")], "availability", r#""backorder""#);
}

#[rustfmt::skip]
#[test]
fn availability_date_is_required_for_preorder() {
    check(&[(Availability, "preorder")], "error: availability_date: a value is required when availability is preorder");
    check(&[(Availability, "preorder"), (AvailabilityDate, "2025-03-01")], "ok");
    check(&[(Availability, "preorder"), (AvailabilityDate, "2025-03-01T09:00:00Z")], "ok");
    check(&[(Availability, "preorder"), (AvailabilityDate, "03/01/2025")], r#"error: availability_date: "03/01/2025" is not an ISO 8601 date or date-time, such as "2025-03-01" or "2025-03-01T09:00:00Z""#);
    check(&[(AvailabilityDate, "2025-13-01")], r#"error: availability_date: "2025-13-01" is not an ISO 8601 date or date-time, such as "2025-03-01" or "2025-03-01T09:00:00Z""#);
    check_field(&[(AvailabilityDate, "2025-03-01")], "availability_date", r#""2025-03-01""#);
}

#[rustfmt::skip]
#[test]
fn price() {
    check(&[(Price, "")], "error: price: a value is required");
    check(&[(Price, "15,00 EUR")], r#"error: price: "15,00 EUR" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
    check(&[(Price, "15.00")], r#"error: price: "15.00" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
    check(&[(Price, "$15.00")], r#"error: price: "$15.00" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
    check(&[(Price, "15.00 ABC")], r#"error: price: "15.00 ABC" has an unknown currency code "ABC"; use an ISO 4217 code, such as "USD""#);
    check(&[(Price, "15.001 USD")], "error: price: \"15.001 USD\" has too many decimals: USD allows at most 2; amounts are never rounded");
    check(&[(Price, "15.5 JPY")], "error: price: \"15.5 JPY\" has too many decimals: JPY allows at most 0; amounts are never rounded");
    check(&[(Price, "1.2345 KWD")], "error: price: \"1.2345 KWD\" has too many decimals: KWD allows at most 3; amounts are never rounded");
    check(&[(Price, "-15.00 USD")], r#"error: price: "-15.00 USD" is negative; a price must be 0 or more"#);
    check(&[(Price, "0.00 USD")], "ok");
    check_field(&[(Price, "15.00 USD")], "price", r#"{"amount":1500,"currency":"usd"}"#);
    check_field(&[(Price, "1500 JPY")], "price", r#"{"amount":1500,"currency":"jpy"}"#);
    check_field(&[(Price, "1.5 KWD")], "price", r#"{"amount":1500,"currency":"kwd"}"#);
    check_field(&[(Price, "12.345 BHD")], "price", r#"{"amount":12345,"currency":"bhd"}"#);
}

#[rustfmt::skip]
#[test]
fn sale_price() {
    let dates = (SalePriceEffectiveDate, "2025-03-01/2025-03-31");
    check(&[(SalePrice, "12.00 USD"), dates], "ok");
    check(&[(SalePrice, "15.00 USD"), dates], "ok");
    check(&[(SalePrice, "12.00 USD")], "error: sale_price_effective_date: a value is required when sale_price is set");
    check(&[(SalePrice, "16.00 USD"), dates], r#"error: sale_price: "16.00 USD" is above price "15.00 USD""#);
    check(&[(SalePrice, "12.00 EUR"), dates], r#"error: sale_price: "12.00 EUR" is in EUR but price is in USD; use the same currency"#);
    check(&[(SalePrice, "12,00 USD"), dates], r#"error: sale_price: "12,00 USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
    check(&[(SalePrice, "12.001 USD"), dates], "error: sale_price: \"12.001 USD\" has too many decimals: USD allows at most 2; amounts are never rounded");
    check(&[(SalePrice, "-1.00 USD"), dates], r#"error: sale_price: "-1.00 USD" is negative; a price must be 0 or more"#);
    check_field(&[(SalePrice, "12.50 USD"), dates], "sale_price", r#"{"amount":1250,"currency":"usd"}"#);
    check_field(&[], "sale_price", "null");
}

#[rustfmt::skip]
#[test]
fn sale_price_effective_date() {
    let sale = (SalePrice, "12.00 USD");
    check(&[sale, (SalePriceEffectiveDate, "2025-03-01T00:00:00Z/2025-03-31T23:59:59Z")], "ok");
    check(&[sale, (SalePriceEffectiveDate, "2025-03-01")], r#"error: sale_price_effective_date: "2025-03-01" is not an ISO 8601 interval; write start/end, such as "2025-03-01T00:00:00Z/2025-03-31T23:59:59Z""#);
    check(&[sale, (SalePriceEffectiveDate, "2025-03-01/soon")], r#"error: sale_price_effective_date: "2025-03-01/soon" is not an ISO 8601 interval; write start/end, such as "2025-03-01T00:00:00Z/2025-03-31T23:59:59Z""#);
    check(&[sale, (SalePriceEffectiveDate, "2025-03-31/2025-03-01")], r#"error: sale_price_effective_date: "2025-03-31/2025-03-01" does not start before it ends"#);
    check(&[sale, (SalePriceEffectiveDate, "2025-03-01/2025-03-01")], r#"error: sale_price_effective_date: "2025-03-01/2025-03-01" does not start before it ends"#);
    check(&[(SalePriceEffectiveDate, "2025-03-01/2025-03-31")], "ok");
    check_field(&[sale, (SalePriceEffectiveDate, "2025-03-01/2025-03-31T12:00:00+01:00")], "sale_price_effective_date", r#"{"end":"2025-03-31T12:00:00+01:00","start":"2025-03-01"}"#);
}

#[rustfmt::skip]
#[test]
fn gtin_or_mpn() {
    check(&[(Gtin, ""), (Mpn, "")], "error: gtin or mpn: at least one of them is required");
    check(&[(Gtin, ""), (Mpn, "MUG-1")], "ok");
    check(&[(Mpn, &"x".repeat(70))], "ok");
    check(&[(Mpn, &"x".repeat(71))], &too_long("mpn", 71, 70));
    check(&[(Gtin, "96385074")], "ok");
    check(&[(Gtin, "036000291452")], "ok");
    check(&[(Gtin, "00012345600012")], "ok");
    check(&[(Gtin, "4006381333932")], r#"error: gtin: "4006381333932" has a wrong check digit; the last digit should be 1"#);
    check(&[(Gtin, "96385075")], r#"error: gtin: "96385075" has a wrong check digit; the last digit should be 4"#);
    check(&[(Gtin, "036000291453")], r#"error: gtin: "036000291453" has a wrong check digit; the last digit should be 2"#);
    check(&[(Gtin, "00012345600013")], r#"error: gtin: "00012345600013" has a wrong check digit; the last digit should be 2"#);
    check(&[(Gtin, "12345")], r#"error: gtin: "12345" is not a GTIN; write 8, 12, 13 or 14 digits"#);
    check(&[(Gtin, "ABC1234567890")], r#"error: gtin: "ABC1234567890" is not a GTIN; write 8, 12, 13 or 14 digits"#);
    check(&[(Gtin, "4006-3813-33931")], r#"ok; warnings: gtin: "4006-3813-33931" was read as "4006381333931""#);
    check(&[(Gtin, "4006381 333931")], r#"ok; warnings: gtin: "4006381 333931" was read as "4006381333931""#);
    check_field(&[(Gtin, "4006-3813-33931")], "gtin", r#""4006381333931""#);
}

#[rustfmt::skip]
#[test]
fn categories() {
    check(&[(ProductCategory, "")], "error: google_product_category or product_category: at least one of them is required");
    check(&[(ProductCategory, ""), (GoogleProductCategory, "2271")], "ok");
    check(&[(ProductCategory, ""), (GoogleProductCategory, "Home & Garden > Kitchen & Dining")], "ok");
    check(&[(ProductCategory, "Home>Kitchen>Mugs")], r#"ok; warnings: product_category: "Home>Kitchen>Mugs" was read as "Home > Kitchen > Mugs""#);
    check(&[(ProductCategory, "Home > > Mugs")], r#"error: product_category: "Home > > Mugs" has an empty level; separate levels with " > ", such as "Home > Kitchen > Mugs""#);
    check(&[(GoogleProductCategory, "Home >")], r#"error: google_product_category: "Home >" has an empty level; separate levels with " > ", such as "Home > Kitchen > Mugs""#);
}

#[rustfmt::skip]
#[test]
fn inventory_quantity() {
    check(&[(InventoryQuantity, "")], "error: inventory_quantity: a value is required unless inventory_not_tracked is true");
    check(&[(InventoryQuantity, ""), (InventoryNotTracked, "false")], "error: inventory_quantity: a value is required unless inventory_not_tracked is true");
    check(&[(InventoryQuantity, ""), (InventoryNotTracked, "true")], "ok");
    check(&[(InventoryQuantity, ""), (InventoryNotTracked, "TRUE")], r#"ok; warnings: inventory_not_tracked: "TRUE" was read as "true""#);
    check(&[(InventoryQuantity, "0")], "ok");
    check(&[(InventoryQuantity, "-1")], r#"error: inventory_quantity: "-1" is not a whole number of 0 or more"#);
    check(&[(InventoryQuantity, "1.5")], r#"error: inventory_quantity: "1.5" is not a whole number of 0 or more"#);
    check(&[(InventoryNotTracked, "sometimes")], r#"error: inventory_not_tracked: "sometimes" is not a boolean; write true or false"#);
    check_field(&[(InventoryQuantity, "42")], "inventory_quantity", "42");
}

#[rustfmt::skip]
#[test]
fn enumerations() {
    check(&[(Condition, "new")], "ok");
    check(&[(Condition, "New")], r#"ok; warnings: condition: "New" was read as "new""#);
    check(&[(Condition, "broken")], r#"error: condition: "broken" is not one of new, refurbished, used"#);
    check(&[(AgeGroup, "kids")], "ok");
    check(&[(AgeGroup, "teen")], r#"error: age_group: "teen" is not one of newborn, infant, toddler, kids, adult"#);
    check(&[(Gender, "unisex")], "ok");
    check(&[(Gender, "men")], r#"error: gender: "men" is not one of male, female, unisex"#);
    check(&[(TaxBehavior, "exclusive")], "ok");
    check(&[(TaxBehavior, "included")], r#"error: tax_behavior: "included" is not one of inclusive, exclusive"#);
    check(&[(SizeSystem, "US")], "ok");
    check(&[(SizeSystem, "us")], r#"ok; warnings: size_system: "us" was read as "US""#);
    check(&[(SizeSystem, "XX")], r#"error: size_system: "XX" is not one of AU, BR, CN, DE, EU, FR, IT, JP, MEX, UK, US"#);
}

#[rustfmt::skip]
#[test]
fn short_texts() {
    check(&[(Material, &"x".repeat(100))], "ok");
    check(&[(Material, &"x".repeat(101))], &too_long("material", 101, 100));
    check(&[(ItemGroupId, &"x".repeat(71))], &too_long("item_group_id", 71, 70));
    check(&[(ItemGroupTitle, &"x".repeat(151))], &too_long("item_group_title", 151, 150));
    check(&[(Color, &"x".repeat(41))], &too_long("color", 41, 40));
    check(&[(Size, &"x".repeat(20))], "ok");
    check(&[(Size, &"x".repeat(21))], &too_long("size", 21, 20));
    check(&[(SellerName, &"x".repeat(71))], &too_long("seller_name", 71, 70));
    check(&[(CustomLabel0, &"x".repeat(101))], &too_long("custom_label_0", 101, 100));
    check(&[(CustomLabel4, "summer sale")], "ok");
    check_field(&[(ItemGroupId, "mug-group")], "item_group_id", r#""mug-group""#);
    check_field(&[(CustomLabel2, " clearance ")], "custom_label_2", r#""clearance""#);
}

#[rustfmt::skip]
#[test]
fn dimensions_and_weight() {
    check(&[(Length, "20 cm")], "ok");
    check(&[(Width, "4.5 in")], "ok");
    check(&[(Height, "20cm")], r#"ok; warnings: height: "20cm" was read as "20 cm""#);
    check(&[(Length, "20 CM")], r#"ok; warnings: length: "20 CM" was read as "20 cm""#);
    check(&[(Length, "20")], r#"error: length: "20" is not a length; write a number and cm or in, such as "20 cm""#);
    check(&[(Width, "20 mm")], r#"error: width: "20 mm" is not a length; write a number and cm or in, such as "20 cm""#);
    check(&[(Height, "-2 cm")], r#"error: height: "-2 cm" is not a length; write a number and cm or in, such as "20 cm""#);
    check(&[(Length, "2,5 cm")], r#"error: length: "2,5 cm" is not a length; write a number and cm or in, such as "20 cm""#);
    check(&[(Weight, "1.5 kg")], "ok");
    check(&[(Weight, "12 oz")], "ok");
    check(&[(Weight, "1.5KG")], r#"ok; warnings: weight: "1.5KG" was read as "1.5 kg""#);
    check(&[(Weight, "2 stone")], r#"error: weight: "2 stone" is not a weight; write a number and g, kg, oz or lb, such as "1.5 kg""#);
    check(&[(Weight, "heavy")], r#"error: weight: "heavy" is not a weight; write a number and g, kg, oz or lb, such as "1.5 kg""#);
    check_field(&[(Length, "20.5 cm")], "length", r#"{"unit":"cm","value":20.5}"#);
    check_field(&[(Weight, "3 lb")], "weight", r#"{"unit":"lb","value":3.0}"#);
}

#[rustfmt::skip]
#[test]
fn shipping() {
    check(&[(Shipping, "US:CA:Overnight:16.00 USD")], "ok");
    check(&[(Shipping, "US:CA:Overnight:16.00 USD; US:NY:Ground:5.00 USD")], "ok");
    check(&[(Shipping, "US:::5.00 USD")], "ok");
    check(&[(Shipping, "us:CA:Overnight:16.00 USD")], r#"ok; warnings: shipping: "us" was read as "US""#);
    check(&[(Shipping, "US:CA:Overnight")], r#"error: shipping: "US:CA:Overnight" is not a shipping rate; write country:region:service:price, such as "US:CA:Overnight:16.00 USD", several separated by ";""#);
    check(&[(Shipping, "USA:CA:Overnight:16.00 USD")], r#"error: shipping: "USA:CA:Overnight:16.00 USD" is not a shipping rate; write country:region:service:price, such as "US:CA:Overnight:16.00 USD", several separated by ";""#);
    check(&[(Shipping, "US:CA:Overnight:")], r#"error: shipping: "US:CA:Overnight:" is not a shipping rate; write country:region:service:price, such as "US:CA:Overnight:16.00 USD", several separated by ";""#);
    check(&[(Shipping, "US:CA:Overnight:16.00 USD:extra")], r#"error: shipping: "US:CA:Overnight:16.00 USD:extra" is not a shipping rate; write country:region:service:price, such as "US:CA:Overnight:16.00 USD", several separated by ";""#);
    check(&[(Shipping, "US:CA:Overnight:16,00 USD")], r#"error: shipping: "16,00 USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
    check_field(&[(Shipping, "US:CA:Overnight:16.00 USD;DE::Standard:4.90 EUR")], "shipping", r#"[{"country":"US","price":{"amount":1600,"currency":"usd"},"region":"CA","service":"Overnight"},{"country":"DE","price":{"amount":490,"currency":"eur"},"region":null,"service":"Standard"}]"#);
    check(&[(FreeShippingThreshold, "50.00 USD")], "ok");
    check(&[(FreeShippingThreshold, "fifty")], r#"error: free_shipping_threshold: "fifty" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
}

#[rustfmt::skip]
#[test]
fn tax_code() {
    check(&[(ProductTaxCode, "txcd_99999999")], "ok");
    check(&[(ProductTaxCode, "99999999")], r#"error: product_tax_code: "99999999" is not a Stripe tax code, such as "txcd_99999999""#);
    check(&[(ProductTaxCode, "txcd_123")], r#"error: product_tax_code: "txcd_123" is not a Stripe tax code, such as "txcd_99999999""#);
}

#[rustfmt::skip]
#[test]
fn scores_and_counts() {
    check(&[(PopularityScore, "4.5")], "ok");
    check(&[(PopularityScore, "5")], "ok");
    check(&[(PopularityScore, "5.1")], r#"error: popularity_score: "5.1" is not a number from 0 to 5"#);
    check(&[(PopularityScore, "-1")], r#"error: popularity_score: "-1" is not a number from 0 to 5"#);
    check(&[(ReturnRate, "0")], "ok");
    check(&[(ReturnRate, "12.5")], "ok");
    check(&[(ReturnRate, "101")], r#"error: return_rate: "101" is not a number from 0 to 100"#);
    check(&[(ReturnRate, "12%")], r#"error: return_rate: "12%" is not a number from 0 to 100"#);
    check(&[(ProductReviewCount, "1200")], "ok");
    check(&[(ProductReviewCount, "-3")], r#"error: product_review_count: "-3" is not a whole number of 0 or more"#);
    check(&[(ProductReviewRating, "4.8")], "ok");
    check(&[(ProductReviewRating, "5.5")], r#"error: product_review_rating: "5.5" is not a number from 0 to 5"#);
    check(&[(ProductReviewRating, "NaN")], r#"error: product_review_rating: "NaN" is not a number from 0 to 5"#);
    check_field(&[(PopularityScore, "4.5")], "popularity_score", "4.5");
}

#[rustfmt::skip]
#[test]
fn expiration_date() {
    check(&[(ExpirationDate, "2026-12-31")], "ok");
    check(&[(ExpirationDate, "2025-02-30")], r#"error: expiration_date: "2025-02-30" is not an ISO 8601 date or date-time, such as "2025-03-01" or "2025-03-01T09:00:00Z""#);
}

#[rustfmt::skip]
#[test]
fn eligibility() {
    check(&[(EnableSearch, "true"), (EnableCheckout, "true")], "ok");
    check(&[(EnableSearch, "false"), (EnableCheckout, "false")], "ok");
    check(&[(EnableSearch, "True")], r#"ok; warnings: enable_search: "True" was read as "true""#);
    check(&[(EnableSearch, "yes")], r#"error: enable_search: "yes" is not a boolean; write true or false"#);
    check(&[(EnableSearch, "false"), (EnableCheckout, "true")], r#"error: enable_checkout: "true" is not allowed when enable_search is false"#);
    check(&[(EnableSearch, "FALSE"), (EnableCheckout, "TRUE")], r#"error: enable_checkout: "TRUE" is not allowed when enable_search is false"#);
    check(&[(DisableCheckout, "maybe")], r#"error: disable_checkout: "maybe" is not a boolean; write true or false"#);
    check_field(&[], "enable_search", "true");
    check_field(&[], "enable_checkout", "true");
    check_field(&[(EnableSearch, "false")], "enable_checkout", "false");
    check_field(&[(DisableCheckout, "true")], "disable_checkout", "true");
}

#[rustfmt::skip]
#[test]
fn delete_needs_only_an_id() {
    let only_id = [
        (Title, ""),
        (Description, ""),
        (Price, "junk"),
        (Availability, ""),
    ];
    let delete_row = |delete: &'static str| {
        let mut changes = only_id.to_vec();
        changes.push((Delete, delete));
        changes
    };
    check(&delete_row("true"), "ok");
    check(&delete_row("TRUE"), r#"ok; warnings: delete: "TRUE" was read as "true""#);
    check(&delete_row("false"), "error: title: a value is required; description: a value is required; availability: a value is required; price: \"junk\" is not a price; write a decimal with a dot and a currency code, such as \"15.00 EUR\"");
    check(&[(Delete, "gone")], r#"error: delete: "gone" is not a boolean; write true or false"#);
    check(&[(Delete, "true"), (Id, "")], "error: id: a value is required");
    let change = match outcome(&delete_row("true")) {
        RowOutcome::Valid { change, .. } => Some(change),
        RowOutcome::Invalid { .. } => None,
    };
    assert_eq!(
        change,
        Some(RowChange::Delete {
            id: "sku-1".to_owned()
        })
    );
}

#[rustfmt::skip]
#[test]
fn every_error_of_a_row_is_listed() {
    check(&[(Title, ""), (Price, "15,00 EUR"), (Gtin, "123")], r#"error: title: a value is required; price: "15,00 EUR" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR"; gtin: "123" is not a GTIN; write 8, 12, 13 or 14 digits"#);
}

#[test]
fn a_product_serializes_under_canonical_names() {
    let changes = [
        (AdditionalImageLink, "https://example.com/2.jpg"),
        (Condition, "new"),
    ];
    let product = match outcome(&changes) {
        RowOutcome::Valid {
            change: RowChange::Upsert(product),
            ..
        } => product,
        other => panic!("not valid: {other:?}"),
    };
    let json = serde_json::to_string(&product).unwrap_or_default();
    let expect = concat!(
        r#"{"id":"sku-1","title":"Blue mug","description":"A blue mug that holds 300 ml.","#,
        r#""link":"https://example.com/mug","brand":"Acme","image_link":"https://example.com/mug.jpg","#,
        r#""additional_image_links":["https://example.com/2.jpg"],"#,
        r#""availability":"in_stock","inventory_quantity":7,"inventory_not_tracked":false,"#,
        r#""price":{"amount":1500,"currency":"usd"},"#,
        r#""gtin":"4006381333931","product_category":"Home > Kitchen > Mugs","#,
        r#""condition":"new","shipping":[],"#,
        r#""enable_search":true,"enable_checkout":true,"disable_checkout":false}"#,
    );
    assert_eq!(json, expect, "absent optional fields are left out");
    let read_back: Result<crate::product::Product, _> = serde_json::from_str(&json);
    assert_eq!(read_back.ok().as_ref(), Some(&*product));

    let every_field = [
        "id",
        "title",
        "description",
        "link",
        "brand",
        "image_link",
        "additional_image_links",
        "video_link",
        "model_3d_link",
        "availability",
        "availability_date",
        "inventory_quantity",
        "inventory_not_tracked",
        "price",
        "sale_price",
        "sale_price_effective_date",
        "gtin",
        "mpn",
        "google_product_category",
        "product_category",
        "condition",
        "age_group",
        "material",
        "length",
        "width",
        "height",
        "weight",
        "item_group_id",
        "item_group_title",
        "color",
        "size",
        "size_system",
        "gender",
        "product_tax_code",
        "tax_behavior",
        "shipping",
        "free_shipping_threshold",
        "popularity_score",
        "return_rate",
        "product_review_count",
        "product_review_rating",
        "expiration_date",
        "seller_name",
        "seller_url",
        "return_policy",
        "enable_search",
        "enable_checkout",
        "disable_checkout",
        "custom_label_0",
        "custom_label_1",
        "custom_label_2",
        "custom_label_3",
        "custom_label_4",
    ];
    assert_eq!(
        crate::product::Product::field_names(),
        every_field,
        "readers fill in the left-out fields from this list"
    );
}
