//! How fast the feed reader parses and validates a typical catalog: builds
//! about 50 MB of product rows (about 500 bytes each, one in fifty broken)
//! in memory, reads them all, and prints MB/s, rows/s and the time of each
//! stage. Run it in release mode:
//!
//! ```text
//! cargo run --release -p mercato-catalog --example throughput
//! ```

use std::time::Instant;

use mercato_catalog::{FeedFormat, FeedReader, RowOutcome, Stage};

const TARGET_BYTES: usize = 50 * 1024 * 1024;

const HEADER: &str = "id,title,description,link,brand,image_link,additional_image_link,availability,price,sale_price,sale_price_effective_date,gtin,google_product_category,inventory_quantity,condition,color,size,item_group_id,weight,shipping,enable_search,enable_checkout";

const BRANDS: &[&str] = &[
    "Acme",
    "Northwind",
    "Contoso Home",
    "Fabrikam",
    "Tailspin Outdoor",
];
const COLORS: &[&str] = &["blue", "red", "forest green", "charcoal", "sand"];
const SIZES: &[&str] = &["S", "M", "L", "XL", "One size"];
const VALID_GTINS: &[&str] = &["4006381333931", "5901234123457", "036000291452", "96385074"];
const CATEGORIES: &[&str] = &[
    "Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs",
    "Apparel & Accessories > Clothing > Shirts & Tops",
    "Sporting Goods > Outdoor Recreation > Camping & Hiking > Tents",
];

fn catalog_row(number: usize) -> String {
    let brand = BRANDS[number % BRANDS.len()];
    let color = COLORS[number % COLORS.len()];
    let size = SIZES[number % SIZES.len()];
    let gtin = VALID_GTINS[number % VALID_GTINS.len()];
    let category = CATEGORIES[number % CATEGORIES.len()];
    let price = if number % 50 == 7 {
        "19,99 USD".to_owned()
    } else {
        format!("{}.{:02} USD", 10 + number % 90, number % 100)
    };
    let availability = if number % 40 == 3 {
        "In Stock"
    } else {
        "in_stock"
    };
    format!(
        "sku-{number},{brand} {color} item {number} size {size},\"A durable {color} item from {brand}, made for everyday use. Dishwasher safe, stackable and built to last; ships in recycled packaging. Care: wash before first use.\",https://shop.example.com/products/sku-{number},{brand},https://cdn.example.com/images/sku-{number}.jpg,https://cdn.example.com/images/sku-{number}-2.jpg,{availability},{price},5.00 USD,2025-03-01T00:00:00Z/2025-03-31T23:59:59Z,{gtin},{category},{},new,{color},{size},group-{},0.4 kg,US:CA:Ground:5.00 USD,true,true\n",
        number % 500,
        number / 5,
    )
}

fn generate_catalog() -> (Vec<u8>, usize) {
    let mut bytes = format!("{HEADER}\n").into_bytes();
    let mut rows = 0;
    while bytes.len() < TARGET_BYTES {
        bytes.extend_from_slice(catalog_row(rows).as_bytes());
        rows += 1;
    }
    (bytes, rows)
}

fn main() {
    let (catalog, row_count) = generate_catalog();
    println!(
        "generated {row_count} rows, {} bytes ({} bytes a row on average)",
        catalog.len(),
        catalog.len() / row_count
    );

    let started = Instant::now();
    let reader = match FeedReader::open(&catalog[..], FeedFormat::ProductCatalog) {
        Ok(reader) => reader,
        Err(error) => {
            println!("the catalog did not open: {error}");
            return;
        }
    };
    let mut reader = reader;
    let mut invalid_rows = 0_u64;
    for row in reader.by_ref().flatten() {
        if matches!(row.outcome, RowOutcome::Invalid { .. }) {
            invalid_rows += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();

    let progress = reader.progress();
    let megabytes = progress.bytes_read as f64 / (1024.0 * 1024.0);
    println!(
        "read {} rows ({} valid, {} invalid, {} with warnings) in {elapsed:.3} s",
        progress.rows_processed, progress.rows_valid, invalid_rows, progress.rows_with_warnings
    );
    println!(
        "throughput: {:.1} MB/s, {:.0} rows/s",
        megabytes / elapsed,
        progress.rows_processed as f64 / elapsed
    );
    for stage in [Stage::Parse, Stage::Validate] {
        let seconds = progress.stage_times.get(stage).as_secs_f64();
        println!("  {}: {seconds:.3} s", stage.as_str());
    }
}
