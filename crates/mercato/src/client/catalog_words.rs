//! The word lists `mercato gen-catalog` draws from: brands, kinds of product
//! with their category paths and sizes, colors, the sentences descriptions
//! are made of, and the currencies prices are written in.
//!
//! Every brand, domain and phrase here is made up; `.example` domains are
//! reserved and never resolve.

/// A brand: its name, the short code its SKUs start with, and its shop's host.
pub(crate) struct Brand {
    pub name: &'static str,
    pub code: &'static str,
    pub host: &'static str,
}

pub(crate) const BRANDS: &[Brand] = &[
    brand("Northwind", "nw", "northwind.example"),
    brand("Alder & Pine", "ap", "alderpine.example"),
    brand("Kestrel", "ks", "kestrel.example"),
    brand("Lumen Works", "lw", "lumen.example"),
    brand("Saltmarsh", "sm", "saltmarsh.example"),
    brand("Fjordline", "fl", "fjordline.example"),
    brand("Copperleaf", "cl", "copperleaf.example"),
    brand("Meridian Goods", "mg", "meridian.example"),
    brand("Tidewater", "tw", "tidewater.example"),
    brand("Brightfield", "bf", "brightfield.example"),
    brand("Oakhollow", "oh", "oakhollow.example"),
    brand("Harbor Supply Co.", "hs", "harbor.example"),
    brand("Nimbus", "nb", "nimbus.example"),
    brand("Granite Peak", "gp", "granitepeak.example"),
    brand("Wren", "wr", "wren.example"),
    brand("Velora", "vl", "velora.example"),
];

const fn brand(name: &'static str, code: &'static str, host: &'static str) -> Brand {
    Brand { name, code, host }
}

/// How the variants of one product differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variation {
    /// One row, no color or size.
    Single,
    /// One row per color.
    Color,
    /// One row per color and size, from these sizes.
    ColorAndSize(&'static [&'static str]),
}

/// A kind of product: what it is called, where it sits in the category
/// tree, how its variants differ, what it is made of, what it costs (in US
/// cents) and weighs (in grams), and what its description can say.
pub(crate) struct ProductKind {
    pub nouns: &'static [&'static str],
    pub category: &'static str,
    pub variation: Variation,
    pub materials: &'static [&'static str],
    pub price_cents: (i64, i64),
    pub weight_grams: (u64, u64),
    pub features: &'static [&'static str],
}

const APPAREL_SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];
const SHOE_SIZES: &[&str] = &["38", "39", "40", "41", "42", "43", "44", "45"];

pub(crate) const PRODUCT_KINDS: &[ProductKind] = &[
    ProductKind {
        nouns: &["T-Shirt", "Crew Tee", "Pocket Tee", "Henley"],
        category: "Apparel & Accessories > Clothing > Shirts & Tops",
        variation: Variation::ColorAndSize(APPAREL_SIZES),
        materials: &[
            "organic cotton",
            "cotton jersey",
            "linen blend",
            "merino wool",
        ],
        price_cents: (1_500, 6_000),
        weight_grams: (140, 260),
        features: &[
            "Cut for a relaxed fit that keeps its shape wash after wash.",
            "Pre-shrunk, with flat seams that do not rub.",
            "Garment-dyed for a soft, lived-in color.",
        ],
    },
    ProductKind {
        nouns: &["Hoodie", "Zip Hoodie", "Sweatshirt", "Fleece Jacket"],
        category: "Apparel & Accessories > Clothing > Outerwear",
        variation: Variation::ColorAndSize(APPAREL_SIZES),
        materials: &["brushed fleece", "recycled polyester", "cotton terry"],
        price_cents: (4_500, 12_000),
        weight_grams: (450, 800),
        features: &[
            "A lined hood with flat drawcords and a kangaroo pocket.",
            "Ribbed cuffs and hem hold the warmth in.",
            "Heavyweight fabric brushed on the inside for comfort.",
        ],
    },
    ProductKind {
        nouns: &[
            "Running Shoe",
            "Trail Shoe",
            "Canvas Sneaker",
            "Leather Boot",
        ],
        category: "Apparel & Accessories > Shoes",
        variation: Variation::ColorAndSize(SHOE_SIZES),
        materials: &["knit mesh", "full-grain leather", "canvas", "suede"],
        price_cents: (5_500, 18_000),
        weight_grams: (600, 1_300),
        features: &[
            "A cushioned midsole and a grippy rubber outsole.",
            "Removable insoles that fit custom orthotics.",
            "Reinforced toe cap and heel counter for support.",
        ],
    },
    ProductKind {
        nouns: &["Coffee Mug", "Travel Mug", "Espresso Cup", "Tea Mug"],
        category: "Home & Garden > Kitchen & Dining > Tableware",
        variation: Variation::Color,
        materials: &[
            "stoneware",
            "porcelain",
            "enamel steel",
            "double-wall glass",
        ],
        price_cents: (1_200, 3_800),
        weight_grams: (250, 450),
        features: &[
            "Holds 350 ml and keeps drinks warm for longer.",
            "Dishwasher and microwave safe.",
            "A wide handle with room for three fingers.",
        ],
    },
    ProductKind {
        nouns: &["Frying Pan", "Skillet", "Saute Pan", "Dutch Oven"],
        category: "Home & Garden > Kitchen & Dining > Cookware & Bakeware",
        variation: Variation::Single,
        materials: &["cast iron", "tri-ply stainless steel", "carbon steel"],
        price_cents: (3_500, 22_000),
        weight_grams: (1_200, 5_500),
        features: &[
            "Works on gas, electric and induction hobs and in the oven.",
            "Seasoned at the factory and ready to cook on.",
            "Heats evenly from the base up the sides.",
        ],
    },
    ProductKind {
        nouns: &["Daypack", "Backpack", "Roll-Top Pack", "Laptop Backpack"],
        category: "Luggage & Bags > Backpacks",
        variation: Variation::Color,
        materials: &["waxed canvas", "recycled nylon", "ripstop polyester"],
        price_cents: (4_900, 19_000),
        weight_grams: (600, 1_400),
        features: &[
            "A padded sleeve fits laptops up to 16 inches.",
            "Water-resistant fabric with taped seams.",
            "Padded shoulder straps with a sternum strap.",
        ],
    },
    ProductKind {
        nouns: &["Dome Tent", "Backpacking Tent", "Family Tent"],
        category: "Sporting Goods > Outdoor Recreation > Camping & Hiking",
        variation: Variation::Single,
        materials: &["ripstop nylon", "polyester taffeta"],
        price_cents: (12_000, 65_000),
        weight_grams: (1_400, 7_500),
        features: &[
            "Pitches in under five minutes with color-coded poles.",
            "Two doors and two vestibules for gear.",
            "A fully taped rainfly rated to 3,000 mm.",
        ],
    },
    ProductKind {
        nouns: &["Wireless Headphones", "Earbuds", "Studio Headphones"],
        category: "Electronics > Audio > Audio Components",
        variation: Variation::Color,
        materials: &["aluminium and protein leather", "matte polymer"],
        price_cents: (4_900, 39_900),
        weight_grams: (50, 350),
        features: &[
            "Up to 30 hours of playback on one charge.",
            "Active noise cancelling with a transparency mode.",
            "Charges over USB-C; ten minutes gives three hours.",
        ],
    },
    ProductKind {
        nouns: &["Desk Lamp", "Floor Lamp", "Pendant Light", "Table Lamp"],
        category: "Home & Garden > Lighting > Lamps",
        variation: Variation::Color,
        materials: &["powder-coated steel", "oak and brass", "opal glass"],
        price_cents: (3_900, 24_000),
        weight_grams: (900, 6_000),
        features: &[
            "Takes an E27 bulb up to 60 W, or the LED it ships with.",
            "An adjustable arm and a weighted base.",
            "A dimmer on the cord with three steps.",
        ],
    },
    ProductKind {
        nouns: &["Yoga Mat", "Travel Yoga Mat", "Exercise Mat"],
        category: "Sporting Goods > Exercise & Fitness",
        variation: Variation::Color,
        materials: &["natural rubber", "cork and rubber", "TPE foam"],
        price_cents: (2_500, 12_000),
        weight_grams: (900, 2_500),
        features: &[
            "A non-slip surface that grips better as you warm up.",
            "5 mm thick to cushion knees and wrists.",
            "Rolls up small with the carry strap included.",
        ],
    },
    ProductKind {
        nouns: &["Building Set", "Wooden Train Set", "Puzzle Cube"],
        category: "Toys & Games > Toys > Building Toys",
        variation: Variation::Single,
        materials: &["beech wood", "recycled plastic", "maple"],
        price_cents: (1_800, 9_000),
        weight_grams: (300, 2_200),
        features: &[
            "Tested to EN 71 and suitable from three years.",
            "Pieces are compatible with the other sets in the range.",
            "Finished with water-based, non-toxic paints.",
        ],
    },
    ProductKind {
        nouns: &["Field Watch", "Dive Watch", "Minimalist Watch"],
        category: "Apparel & Accessories > Jewelry > Watches",
        variation: Variation::Color,
        materials: &["stainless steel", "titanium", "brushed brass"],
        price_cents: (8_900, 59_000),
        weight_grams: (60, 180),
        features: &[
            "Sapphire crystal and a screw-down crown.",
            "Water resistant to 100 meters.",
            "A quick-release strap you can change without tools.",
        ],
    },
];

pub(crate) const ADJECTIVES: &[&str] = &[
    "Classic",
    "Everyday",
    "Essential",
    "Heritage",
    "Lightweight",
    "Premium",
    "Compact",
    "Original",
    "Signature",
    "Modern",
    "Rugged",
    "Studio",
    "Coastal",
    "Alpine",
    "Urban",
    "Weekend",
];

pub(crate) const COLORS: &[&str] = &[
    "Black",
    "White",
    "Navy",
    "Charcoal",
    "Forest Green",
    "Sand",
    "Rust",
    "Sky Blue",
    "Burgundy",
    "Olive",
    "Oat",
    "Slate",
    "Mustard",
    "Blush",
];

/// Sentences a description is made of, each ending with its period.
/// `{brand}`, `{noun}`, `{material}`
/// and `{adjective}` are replaced by the product's own words.
pub(crate) const SENTENCES: &[&str] = &[
    "The {adjective} {noun} from {brand} is made of {material} and built for daily use.",
    "We designed this {noun} in small batches and tested every one before it left the workshop.",
    "Ships in recycled, plastic-free packaging within two business days.",
    "Backed by a two-year warranty and free returns within 30 days.",
    "Care: wipe clean with a damp cloth and let it dry naturally.",
    "Made in a family-run factory that we have worked with for over ten years.",
    "The {material} ages well and only looks better with time.",
    "Pairs well with the rest of the {adjective} collection.",
    "Each piece varies slightly, which is part of its charm.",
    "{brand} offsets the carbon of every delivery.",
    "Reviewers call it the last {noun} they expect to buy.",
    "Spare parts are available for as long as the {noun} is sold.",
    "Made to last.",
    "Free returns within 30 days.",
    "A {brand} favorite.",
    "Sold by the piece.",
    "Gift wrapping is available at checkout.",
    "Designed in-house.",
];

/// A currency a product can be priced in, with how prices and shipping
/// look there.
pub(crate) struct CurrencyProfile {
    pub code: &'static str,
    /// Decimals in a price: JPY 0, KWD 3, most 2.
    pub decimals: u32,
    /// Minor units worth one US dollar, roughly.
    pub minor_per_dollar: f64,
    /// The step prices are rounded to, and what is taken off after, in
    /// minor units: 30.00 less 1 is the familiar 29.99.
    pub price_step: i64,
    pub price_ending: i64,
    pub country: &'static str,
    /// The standard shipping rate, in minor units.
    pub shipping_minor: i64,
    pub imperial_weights: bool,
    /// How often products are priced in this currency, out of 100.
    pub share: u64,
}

pub(crate) const CURRENCIES: &[CurrencyProfile] = &[
    CurrencyProfile {
        code: "USD",
        decimals: 2,
        minor_per_dollar: 100.0,
        price_step: 100,
        price_ending: 1,
        country: "US",
        shipping_minor: 599,
        imperial_weights: true,
        share: 45,
    },
    CurrencyProfile {
        code: "EUR",
        decimals: 2,
        minor_per_dollar: 92.0,
        price_step: 100,
        price_ending: 1,
        country: "DE",
        shipping_minor: 495,
        imperial_weights: false,
        share: 25,
    },
    CurrencyProfile {
        code: "GBP",
        decimals: 2,
        minor_per_dollar: 79.0,
        price_step: 100,
        price_ending: 5,
        country: "GB",
        shipping_minor: 395,
        imperial_weights: false,
        share: 15,
    },
    CurrencyProfile {
        code: "JPY",
        decimals: 0,
        minor_per_dollar: 150.0,
        price_step: 100,
        price_ending: 20,
        country: "JP",
        shipping_minor: 800,
        imperial_weights: false,
        share: 10,
    },
    CurrencyProfile {
        code: "KWD",
        decimals: 3,
        minor_per_dollar: 307.0,
        price_step: 250,
        price_ending: 0,
        country: "KW",
        shipping_minor: 1_500,
        imperial_weights: false,
        share: 5,
    },
];
