//! The valid rows of a generated catalog: products drawn from the word
//! lists, each written as one row per variant (a color, or a color and a
//! size) sharing an `item_group_id`.
//!
//! **Every row made here passes the feed contract**: ids are unique, GTINs
//! carry their GS1 check digit, prices have exactly their currency's
//! decimals, a sale price is below the price and has its dates, a preorder
//! has its date, and checkout is enabled only where search is. Rows are
//! broken afterwards, on purpose, by [`crate::client::catalog_faults`].

use std::fmt::Write as _;

use crate::client::catalog_words::{
    Brand, CurrencyProfile, ProductKind, Variation, ADJECTIVES, BRANDS, COLORS, CURRENCIES,
    PRODUCT_KINDS, SENTENCES,
};
use crate::client::seeded_random::SeededRandom;

/// The shortest and longest description, in bytes (HTML included).
const DESCRIPTION_MIN_BYTES: usize = 200;
const DESCRIPTION_MAX_BYTES: usize = 800;

/// How far past the minimum a short description may go while a shorter
/// sentence could still take it there.
const DESCRIPTION_SLACK_BYTES: usize = 16;

/// How strongly description lengths lean toward the short end: the length
/// above the minimum is the range times a uniform number to this power.
const DESCRIPTION_LENGTH_SKEW: i32 = 32;

macro_rules! define_fields {
    ($($variant:ident => $name:literal,)*) => {
        /// A column of the generated catalog, in header order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Field {
            $($variant,)*
        }

        /// The header: every column name, in order.
        pub const FIELD_NAMES: &[&str] = &[$($name,)*];
    };
}

define_fields! {
    Id => "id",
    Title => "title",
    Description => "description",
    Link => "link",
    ImageLink => "image_link",
    AdditionalImageLink => "additional_image_link",
    Brand => "brand",
    Availability => "availability",
    AvailabilityDate => "availability_date",
    InventoryQuantity => "inventory_quantity",
    Price => "price",
    SalePrice => "sale_price",
    SalePriceEffectiveDate => "sale_price_effective_date",
    Gtin => "gtin",
    Mpn => "mpn",
    GoogleProductCategory => "google_product_category",
    Condition => "condition",
    ItemGroupId => "item_group_id",
    Color => "color",
    Size => "size",
    Weight => "weight",
    Shipping => "shipping",
    EnableSearch => "enable_search",
    EnableCheckout => "enable_checkout",
}

pub const FIELD_COUNT: usize = FIELD_NAMES.len();

/// The cells of the row being made, reused from row to row, and the facts
/// about it that breaking it needs.
pub(crate) struct RowCells {
    cells: Vec<String>,
    pub price_minor: i64,
    pub currency: &'static CurrencyProfile,
    pub host: &'static str,
}

impl RowCells {
    pub fn new() -> RowCells {
        RowCells {
            cells: vec![String::new(); FIELD_COUNT],
            price_minor: 0,
            currency: &CURRENCIES[0],
            host: BRANDS[0].host,
        }
    }

    pub fn get(&self, field: Field) -> &str {
        &self.cells[field as usize]
    }

    /// The cell of `field`, emptied, to be written.
    pub fn set(&mut self, field: Field) -> &mut String {
        let cell = &mut self.cells[field as usize];
        cell.clear();
        cell
    }

    pub fn set_text(&mut self, field: Field, text: &str) {
        self.set(field).push_str(text);
    }

    /// Takes the text of `field` out, to be put back with [`RowCells::put`].
    pub fn take(&mut self, field: Field) -> String {
        std::mem::take(&mut self.cells[field as usize])
    }

    pub fn put(&mut self, field: Field, text: String) {
        self.cells[field as usize] = text;
    }

    pub fn cells(&self) -> &[String] {
        &self.cells
    }
}

/// One variant of a product.
struct Variant {
    color: Option<&'static str>,
    size: Option<&'static str>,
}

/// A product being written, one variant per row.
struct Product {
    number: u64,
    kind: &'static ProductKind,
    brand: &'static Brand,
    adjective: &'static str,
    noun: &'static str,
    currency: &'static CurrencyProfile,
    price_minor: i64,
    condition: &'static str,
    material: &'static str,
    weight: String,
    variants: Vec<Variant>,
}

/// Makes valid rows, one after another.
pub(crate) struct RowMaker {
    product: Option<Product>,
    next_variant: usize,
    products_made: u64,
}

impl RowMaker {
    pub fn new() -> RowMaker {
        RowMaker {
            product: None,
            next_variant: 0,
            products_made: 0,
        }
    }

    /// Fills `cells` with the next valid row.
    pub fn fill_next_row(&mut self, random: &mut SeededRandom, cells: &mut RowCells) {
        let needs_product = self
            .product
            .as_ref()
            .is_none_or(|product| self.next_variant >= product.variants.len());
        if needs_product {
            self.products_made += 1;
            self.product = Some(draw_product(random, self.products_made));
            self.next_variant = 0;
        }

        let Some(product) = &self.product else {
            return;
        };
        fill_row(random, product, self.next_variant, cells);
        self.next_variant += 1;
    }
}

fn draw_product(random: &mut SeededRandom, number: u64) -> Product {
    let kind = random.pick(PRODUCT_KINDS);
    let brand = random.pick(BRANDS);
    let adjective = *random.pick(ADJECTIVES);
    let noun = *random.pick(kind.nouns);
    let material = *random.pick(kind.materials);
    let currency = draw_currency(random);
    Product {
        number,
        kind,
        brand,
        adjective,
        noun,
        currency,
        price_minor: draw_price(random, kind, currency),
        condition: draw_condition(random),
        material,
        weight: draw_weight(random, kind, currency),
        variants: draw_variants(random, kind.variation),
    }
}

fn draw_currency(random: &mut SeededRandom) -> &'static CurrencyProfile {
    let mut ticket = random.below(100);
    for currency in CURRENCIES {
        if ticket < currency.share {
            return currency;
        }
        ticket -= currency.share;
    }
    &CURRENCIES[0]
}

/// A price in the kind's range, converted and rounded the way shops round:
/// up to the currency's step, less its ending (29.99, 2980, 12.750).
fn draw_price(random: &mut SeededRandom, kind: &ProductKind, currency: &CurrencyProfile) -> i64 {
    let (low, high) = kind.price_cents;
    let cents = random.between(low as u64, high as u64) as f64;
    let raw_minor = (cents / 100.0 * currency.minor_per_dollar) as i64;
    let step = currency.price_step;
    let rounded = (raw_minor / step + 1) * step;
    rounded - currency.price_ending
}

fn draw_condition(random: &mut SeededRandom) -> &'static str {
    match random.below(100) {
        0..=19 => "",
        20..=91 => "new",
        92..=96 => "refurbished",
        _ => "used",
    }
}

/// A weight in the kind's range: ounces or pounds where prices are in US
/// dollars, grams or kilograms elsewhere.
fn draw_weight(
    random: &mut SeededRandom,
    kind: &ProductKind,
    currency: &CurrencyProfile,
) -> String {
    const GRAMS_PER_OUNCE: f64 = 28.35;
    const GRAMS_PER_POUND: f64 = 453.6;
    let (low, high) = kind.weight_grams;
    let grams = random.between(low, high);
    let grams_float = grams as f64;
    match (currency.imperial_weights, grams) {
        (true, 0..=453) => format!("{:.1} oz", grams_float / GRAMS_PER_OUNCE),
        (true, _) => format!("{:.1} lb", grams_float / GRAMS_PER_POUND),
        (false, 0..=999) => format!("{grams} g"),
        (false, _) => format!("{:.2} kg", grams_float / 1000.0),
    }
}

/// Colors from a random start, and for sized kinds a run of sizes in each.
fn draw_variants(random: &mut SeededRandom, variation: Variation) -> Vec<Variant> {
    let color_count = match variation {
        Variation::Single => return vec![Variant::plain()],
        Variation::Color if random.percent(30) => return vec![Variant::plain()],
        Variation::Color => random.between(2, 4) as usize,
        Variation::ColorAndSize(_) => random.between(1, 3) as usize,
    };
    let first_color = random.below(COLORS.len() as u64) as usize;
    let colors = (0..color_count).map(|offset| COLORS[(first_color + offset) % COLORS.len()]);

    let Variation::ColorAndSize(sizes) = variation else {
        return colors
            .map(|color| Variant {
                color: Some(color),
                size: None,
            })
            .collect();
    };
    let size_count = random.between(3, 5) as usize;
    let first_size = random.below((sizes.len() - size_count + 1) as u64) as usize;
    let sizes = &sizes[first_size..first_size + size_count];
    colors
        .flat_map(|color| {
            sizes.iter().map(move |size| Variant {
                color: Some(color),
                size: Some(size),
            })
        })
        .collect()
}

impl Variant {
    fn plain() -> Variant {
        Variant {
            color: None,
            size: None,
        }
    }
}

/// The words a description's sentences are filled in with.
struct DescriptionWords {
    brand: &'static str,
    adjective: &'static str,
    noun: &'static str,
    material: &'static str,
}

/// Writes a description of 200 to 800 bytes, most of them short: the
/// kind's features from a random start, then general sentences, never one
/// twice. One in twenty is wrapped in simple HTML.
fn describe(
    random: &mut SeededRandom,
    kind: &ProductKind,
    words: &DescriptionWords,
    out: &mut String,
) {
    let spread = (DESCRIPTION_MAX_BYTES - DESCRIPTION_MIN_BYTES) as f64;
    let stretch = random.unit().powi(DESCRIPTION_LENGTH_SKEW);
    let target = DESCRIPTION_MIN_BYTES + (spread * stretch) as usize;
    let first_feature = random.below(kind.features.len() as u64) as usize;
    let first_sentence = random.below(SENTENCES.len() as u64) as usize;
    let features = (0..kind.features.len())
        .map(|offset| kind.features[(first_feature + offset) % kind.features.len()]);
    let sentences =
        (0..SENTENCES.len()).map(|offset| SENTENCES[(first_sentence + offset) % SENTENCES.len()]);
    let templates = features.chain(sentences);

    let length = DescriptionLength {
        target,
        ceiling: target.max(DESCRIPTION_MIN_BYTES + DESCRIPTION_SLACK_BYTES),
        limit: DESCRIPTION_MAX_BYTES,
    };
    if !random.percent(5) {
        push_sentences(out, templates, words, &length);
        return;
    }
    out.push_str("<p>");
    let limit = DESCRIPTION_MAX_BYTES - "<p></p>".len();
    push_sentences(
        out,
        templates,
        words,
        &DescriptionLength { limit, ..length },
    );
    out.push_str("</p>");
}

/// How long a description's sentences should be, in bytes.
struct DescriptionLength {
    /// Stop once this long.
    target: usize,
    /// Skip a sentence that would go past this, for a shorter one.
    ceiling: usize,
    /// Never go past this.
    limit: usize,
}

/// Appends sentences, space-separated, until they reach the target, each
/// template at most once: first skipping those that would pass the
/// ceiling, then, if the minimum is not reached, any that fits the limit.
fn push_sentences<'t>(
    out: &mut String,
    templates: impl Iterator<Item = &'t str> + Clone,
    words: &DescriptionWords,
    length: &DescriptionLength,
) {
    let start = out.len();
    let mut sentence = String::with_capacity(160);
    let mut used: u64 = 0;
    for ceiling in [length.ceiling, length.limit] {
        for (index, template) in templates.clone().enumerate().take(64) {
            if used & (1 << index) != 0 {
                continue;
            }
            sentence.clear();
            if out.len() > start {
                sentence.push(' ');
            }
            fill_template(&mut sentence, template, words);
            if out.len() - start + sentence.len() > ceiling {
                continue;
            }
            out.push_str(&sentence);
            used |= 1 << index;
            if out.len() - start >= length.target {
                return;
            }
        }
        if out.len() - start >= DESCRIPTION_MIN_BYTES {
            return;
        }
    }
}

/// Writes `template` with its `{word}` placeholders filled in.
fn fill_template(out: &mut String, template: &str, words: &DescriptionWords) {
    let mut parts = template.split('{');
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        let (key, rest) = part.split_once('}').unwrap_or(("", part));
        out.push_str(match key {
            "brand" => words.brand,
            "adjective" => words.adjective,
            "noun" => words.noun,
            "material" => words.material,
            _ => "",
        });
        out.push_str(rest);
    }
}

/// Writes one variant's row.
fn fill_row(
    random: &mut SeededRandom,
    product: &Product,
    variant_index: usize,
    cells: &mut RowCells,
) {
    let variant = &product.variants[variant_index];
    let has_variants = product.variants.len() > 1;
    fill_identity(product, variant_index, variant, cells);
    fill_links(random, product.brand.host, cells);
    fill_stock(random, cells);
    fill_prices(random, product, cells);
    fill_identifiers(random, product, cells);

    let words = DescriptionWords {
        brand: product.brand.name,
        adjective: product.adjective,
        noun: product.noun,
        material: product.material,
    };
    describe(random, product.kind, &words, cells.set(Field::Description));
    cells.set_text(Field::Brand, product.brand.name);
    cells.set_text(Field::GoogleProductCategory, product.kind.category);
    cells.set_text(Field::Condition, product.condition);
    cells.set_text(Field::Color, variant.color.unwrap_or_default());
    cells.set_text(Field::Size, variant.size.unwrap_or_default());
    let weight = if random.percent(70) {
        product.weight.as_str()
    } else {
        ""
    };
    cells.set_text(Field::Weight, weight);
    let group = cells.set(Field::ItemGroupId);
    if has_variants {
        let _ = write!(group, "{}{}", product.brand.code, product.number);
    }
    fill_eligibility(random, cells);
}

/// `id` and `title`: the brand's code, the product number and the
/// variant's position; the title names the variant's color and size.
fn fill_identity(product: &Product, variant_index: usize, variant: &Variant, cells: &mut RowCells) {
    let id = cells.set(Field::Id);
    let _ = write!(id, "{}{}", product.brand.code, product.number);
    if product.variants.len() > 1 {
        let _ = write!(id, "-{}", variant_index + 1);
    }

    let title = cells.set(Field::Title);
    let brand = product.brand.name;
    let _ = write!(title, "{brand} {} {}", product.adjective, product.noun);
    match (variant.color, variant.size) {
        (Some(color), Some(size)) => {
            let _ = write!(title, " - {color} / {size}");
        }
        (Some(color), None) => {
            let _ = write!(title, " - {color}");
        }
        _ => {}
    }
}

/// The product page, its image, and for some rows one or two more images.
fn fill_links(random: &mut SeededRandom, host: &'static str, cells: &mut RowCells) {
    cells.host = host;
    let id = cells.take(Field::Id);
    let _ = write!(cells.set(Field::Link), "https://{host}/p/{id}");
    let _ = write!(cells.set(Field::ImageLink), "https://{host}/img/{id}.jpg");

    let more_images = if random.percent(12) {
        random.between(1, 2)
    } else {
        0
    };
    let additional = cells.set(Field::AdditionalImageLink);
    for number in 0..more_images {
        if number > 0 {
            additional.push(',');
        }
        let _ = write!(additional, "https://{host}/img/{id}-{}.jpg", number + 2);
    }
    cells.put(Field::Id, id);
}

/// Availability with its quantity: mostly in stock; sold out, preorder
/// (with a date) and backorder rows have none.
fn fill_stock(random: &mut SeededRandom, cells: &mut RowCells) {
    let (availability, quantity) = match random.below(100) {
        0..=84 => ("in_stock", random.between(1, 250)),
        85..=92 => ("out_of_stock", 0),
        93..=96 => ("preorder", 0),
        _ => ("backorder", 0),
    };
    cells.set_text(Field::Availability, availability);
    let _ = write!(cells.set(Field::InventoryQuantity), "{quantity}");

    let date = cells.set(Field::AvailabilityDate);
    if availability == "preorder" {
        let month = random.between(1, 12);
        let day = random.between(1, 28);
        let _ = write!(date, "2026-{month:02}-{day:02}");
    }
}

/// The price, and on some rows a sale price of 60-90% of it with its dates.
fn fill_prices(random: &mut SeededRandom, product: &Product, cells: &mut RowCells) {
    let currency = product.currency;
    cells.price_minor = product.price_minor;
    cells.currency = currency;
    write_money(cells.set(Field::Price), product.price_minor, currency);

    cells.set(Field::SalePrice);
    cells.set(Field::SalePriceEffectiveDate);
    if random.percent(15) {
        let percent = random.between(60, 90) as i64;
        let sale_minor = product.price_minor * percent / 100;
        write_money(cells.set(Field::SalePrice), sale_minor, currency);
        write_sale_dates(random, cells.set(Field::SalePriceEffectiveDate), false);
    }
}

/// A sale of a week or more within one month of 2026; `reversed` puts the
/// end before the start.
pub(crate) fn write_sale_dates(random: &mut SeededRandom, out: &mut String, reversed: bool) {
    let month = random.between(1, 12);
    let start_day = random.between(1, 14);
    let end_day = random.between(start_day + 7, 28);
    let start = format!("2026-{month:02}-{start_day:02}");
    let end = format!("2026-{month:02}-{end_day:02}");
    if reversed {
        let _ = write!(out, "{end}/{start}");
    } else {
        let _ = write!(out, "{start}/{end}");
    }
}

/// `15.00 USD`, `2980 JPY`, `12.750 KWD`: the amount with exactly the
/// currency's decimals.
pub(crate) fn write_money(out: &mut String, minor: i64, currency: &CurrencyProfile) {
    if currency.decimals == 0 {
        let _ = write!(out, "{minor} {}", currency.code);
        return;
    }
    let scale = 10_i64.pow(currency.decimals);
    let width = currency.decimals as usize;
    let (whole, fraction) = (minor / scale, minor % scale);
    let _ = write!(out, "{whole}.{fraction:0width$} {}", currency.code);
}

/// A GTIN on most rows (GTIN-13, or GTIN-12 for US dollar prices), an MPN
/// on many, always at least one of them; and the shipping rates.
fn fill_identifiers(random: &mut SeededRandom, product: &Product, cells: &mut RowCells) {
    let has_gtin = random.percent(80);
    let gtin = cells.set(Field::Gtin);
    if has_gtin {
        let digits = if product.currency.code == "USD" && random.percent(50) {
            12
        } else {
            13
        };
        write_gtin(random, gtin, digits);
    }

    let mpn = cells.set(Field::Mpn);
    if !has_gtin || random.percent(30) {
        let code = product.brand.code.to_ascii_uppercase();
        let _ = write!(
            mpn,
            "{code}{:05}-{}",
            product.number % 100_000,
            random.between(10, 99)
        );
    }

    let shipping = cells.set(Field::Shipping);
    if random.percent(35) {
        fill_shipping(random, product.currency, shipping);
    }
}

/// A random GTIN of `digits` digits with its GS1 check digit.
pub(crate) fn write_gtin(random: &mut SeededRandom, out: &mut String, digits: usize) {
    let start = out.len();
    out.push(char::from(b'0' + random.between(1, 9) as u8));
    for _ in 1..digits - 1 {
        out.push(char::from(b'0' + random.below(10) as u8));
    }
    let check_digit = gs1_check_digit(&out[start..]);
    out.push(char::from(b'0' + check_digit));
}

/// The GS1 check digit of the digits before it: weights 3 and 1
/// alternating from the right, and what brings the sum to a multiple of 10.
pub(crate) fn gs1_check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| u32::from(byte - b'0') * if position % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Standard shipping in the currency's country, and on some rows express
/// at twice the price.
fn fill_shipping(random: &mut SeededRandom, currency: &CurrencyProfile, out: &mut String) {
    let country = currency.country;
    let _ = write!(out, "{country}::Standard:");
    write_money(out, currency.shipping_minor, currency);
    if random.percent(25) {
        let _ = write!(out, ";{country}::Express:");
        write_money(out, currency.shipping_minor * 2, currency);
    }
}

/// Search on for nearly every row; checkout on for most of those, and
/// never where search is off. A third of the rows leave both blank, which
/// means both on.
fn fill_eligibility(random: &mut SeededRandom, cells: &mut RowCells) {
    let as_text = |flag: bool| if flag { "true" } else { "false" };
    let (search, checkout) = match random.below(100) {
        0..=32 => ("", ""),
        33..=94 => ("true", as_text(random.percent(85))),
        _ => ("false", "false"),
    };
    cells.set_text(Field::EnableSearch, search);
    cells.set_text(Field::EnableCheckout, checkout);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_known_gtins() {
        for gtin in ["4006381333931", "5901234123457", "036000291452", "96385074"] {
            let (body, check) = gtin.split_at(gtin.len() - 1);
            assert_eq!(gs1_check_digit(body).to_string(), check, "{gtin}");
        }
    }

    #[test]
    fn money_has_the_currency_decimals() {
        let check = |minor, code: &str, expect: &str| {
            let currency = CURRENCIES.iter().find(|c| c.code == code).expect("known");
            let mut out = String::new();
            write_money(&mut out, minor, currency);
            assert_eq!(out, expect);
        };
        check(2999, "USD", "29.99 USD");
        check(1505, "EUR", "15.05 EUR");
        check(2980, "JPY", "2980 JPY");
        check(12750, "KWD", "12.750 KWD");
        check(7, "GBP", "0.07 GBP");
    }
}
