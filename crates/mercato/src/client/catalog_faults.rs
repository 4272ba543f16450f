//! The ways `mercato gen-catalog` breaks a row on purpose. Each fault breaks
//! one rule of the feed contract, so that the row fails validation on its
//! own, whatever the other rows hold.

use std::fmt::Write as _;

use crate::client::catalog_rows::{write_gtin, write_money, write_sale_dates, Field, RowCells};
use crate::client::seeded_random::SeededRandom;

/// A known way to break a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `price` with a decimal comma: `15,00 EUR`.
    PriceWithDecimalComma,
    /// A `JPY` price with decimals: `1200.50 JPY`.
    TooManyDecimalsForCurrency,
    /// An empty `title`.
    MissingTitle,
    /// A `gtin` whose last digit is not its GS1 check digit.
    WrongGtinCheckDigit,
    /// A negative `inventory_quantity`.
    NegativeInventory,
    /// An `availability` that is none of the four.
    UnknownAvailability,
    /// A `sale_price` above `price`.
    SalePriceAbovePrice,
    /// A `link` without its scheme.
    LinkNotUrl,
    /// The `id` of the row before.
    DuplicateId,
    /// `preorder` without an `availability_date`.
    PreorderWithoutDate,
    /// Neither `gtin` nor `mpn`.
    NoGtinNorMpn,
    /// A `sale_price_effective_date` whose end comes before its start.
    SaleDatesReversed,
    /// `enable_checkout` true with `enable_search` false.
    CheckoutWithoutSearch,
}

impl Fault {
    /// Every fault, in the order they are drawn from.
    pub const ALL: &'static [Fault] = &[
        Fault::PriceWithDecimalComma,
        Fault::TooManyDecimalsForCurrency,
        Fault::MissingTitle,
        Fault::WrongGtinCheckDigit,
        Fault::NegativeInventory,
        Fault::UnknownAvailability,
        Fault::SalePriceAbovePrice,
        Fault::LinkNotUrl,
        Fault::DuplicateId,
        Fault::PreorderWithoutDate,
        Fault::NoGtinNorMpn,
        Fault::SaleDatesReversed,
        Fault::CheckoutWithoutSearch,
    ];

    /// A random fault; never [`Fault::DuplicateId`] for the first row,
    /// which has no row before it.
    pub(crate) fn draw(random: &mut SeededRandom, is_first_row: bool) -> Fault {
        let fault = *random.pick(Fault::ALL);
        if fault == Fault::DuplicateId && is_first_row {
            return Fault::MissingTitle;
        }
        fault
    }

    /// Breaks the valid row in `cells`; `previous_id` is the id of the row
    /// before it.
    pub(crate) fn apply(self, random: &mut SeededRandom, cells: &mut RowCells, previous_id: &str) {
        match self {
            Fault::PriceWithDecimalComma => write_price_with_comma(cells),
            Fault::TooManyDecimalsForCurrency => write_yen_with_decimals(random, cells),
            Fault::MissingTitle => cells.set_text(Field::Title, ""),
            Fault::WrongGtinCheckDigit => write_wrong_gtin(random, cells),
            Fault::NegativeInventory => {
                let _ = write!(
                    cells.set(Field::InventoryQuantity),
                    "-{}",
                    random.between(1, 20)
                );
            }
            Fault::UnknownAvailability => {
                let value = *random.pick(&["available", "limited", "discontinued", "soon"]);
                cells.set_text(Field::Availability, value);
            }
            Fault::SalePriceAbovePrice => write_sale_above_price(random, cells),
            Fault::LinkNotUrl => write_link_without_scheme(cells),
            Fault::DuplicateId => cells.set_text(Field::Id, previous_id),
            Fault::PreorderWithoutDate => {
                cells.set_text(Field::Availability, "preorder");
                cells.set_text(Field::AvailabilityDate, "");
                cells.set_text(Field::InventoryQuantity, "0");
            }
            Fault::NoGtinNorMpn => {
                cells.set_text(Field::Gtin, "");
                cells.set_text(Field::Mpn, "");
            }
            Fault::SaleDatesReversed => write_reversed_sale(random, cells),
            Fault::CheckoutWithoutSearch => {
                cells.set_text(Field::EnableSearch, "false");
                cells.set_text(Field::EnableCheckout, "true");
            }
        }
    }
}

/// The price with a comma for its decimal mark: `15,00 EUR`, `2980,00 JPY`.
fn write_price_with_comma(cells: &mut RowCells) {
    let price = cells.take(Field::Price);
    let broken = match price.split_once('.') {
        Some((whole, rest)) => format!("{whole},{rest}"),
        None => price.replacen(' ', ",00 ", 1),
    };
    cells.put(Field::Price, broken);
}

/// A yen price with two decimals, and no sale price to compare it with.
fn write_yen_with_decimals(random: &mut SeededRandom, cells: &mut RowCells) {
    let yen = random.between(500, 30_000);
    let _ = write!(cells.set(Field::Price), "{yen}.50 JPY");
    cells.set_text(Field::SalePrice, "");
    cells.set_text(Field::SalePriceEffectiveDate, "");
}

/// A GTIN (made when the row had none) whose check digit is off by one.
fn write_wrong_gtin(random: &mut SeededRandom, cells: &mut RowCells) {
    let mut gtin = cells.take(Field::Gtin);
    if gtin.is_empty() {
        write_gtin(random, &mut gtin, 13);
    }
    let check_digit = gtin.pop().map_or(0, |digit| digit as u8 - b'0');
    gtin.push(char::from(b'0' + (check_digit + 1) % 10));
    cells.put(Field::Gtin, gtin);
}

/// A sale price a tenth above the price, with valid dates.
fn write_sale_above_price(random: &mut SeededRandom, cells: &mut RowCells) {
    let sale_minor = cells.price_minor + cells.price_minor / 10 + 1;
    let currency = cells.currency;
    write_money(cells.set(Field::SalePrice), sale_minor, currency);
    write_sale_dates(random, cells.set(Field::SalePriceEffectiveDate), false);
}

/// A valid sale price whose dates run backwards.
fn write_reversed_sale(random: &mut SeededRandom, cells: &mut RowCells) {
    let sale_minor = cells.price_minor * 8 / 10;
    let currency = cells.currency;
    write_money(cells.set(Field::SalePrice), sale_minor, currency);
    write_sale_dates(random, cells.set(Field::SalePriceEffectiveDate), true);
}

/// `www.host/p/id`, as merchants paste it from the address bar.
fn write_link_without_scheme(cells: &mut RowCells) {
    let id = cells.take(Field::Id);
    let host = cells.host;
    let _ = write!(cells.set(Field::Link), "www.{host}/p/{id}");
    cells.put(Field::Id, id);
}
