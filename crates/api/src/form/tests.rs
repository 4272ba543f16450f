//! Tables of cases for the form parser and deserializer: one line of input, one expectation.
//!
//! Parsed trees are rendered compactly (`{items: [{price: "p1"}]}`) and errors as
//! `Variant [param]`, so each case reads as input and outcome side by side.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{from_params, FormError, Params, Update, Value};

fn render(value: &Value) -> String {
    match value {
        Value::Scalar(text) => format!("{text:?}"),
        Value::List(list) => {
            let elements: Vec<String> = list.iter().map(render).collect();
            format!("[{}]", elements.join(", "))
        }
        Value::Map(map) => render_map(map),
    }
}

fn render_map(map: &BTreeMap<String, Value>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(name, value)| format!("{name}: {}", render(value)))
        .collect();

    format!("{{{}}}", entries.join(", "))
}

/// `Variant [param]`, the variant name taken from the derived `Debug`.
fn describe(error: &FormError) -> String {
    let debug = format!("{error:?}");
    let variant = debug.split([' ', '(']).next().unwrap_or_default();

    format!("{variant} [{}]", error.param().unwrap_or_default())
}

fn parse_outcome(input: &str) -> String {
    match Params::parse(input.as_bytes()) {
        Ok(params) => render_map(&params.map),
        Err(error) => describe(&error),
    }
}

const PARSE_CASES: &[(&str, &str)] = &[
    // Empty input, separators and bare keys.
    ("", "{}"),
    ("&&", "{}"),
    ("a=1&&b=2&", r#"{a: "1", b: "2"}"#),
    ("a", r#"{a: ""}"#),
    ("a=", r#"{a: ""}"#),
    ("a=b=c", r#"{a: "b=c"}"#),
    // Decoding.
    ("name=Jenny+Rosen", r#"{name: "Jenny Rosen"}"#),
    ("q=a%2Bb%26c%3Dd", r#"{q: "a+b&c=d"}"#),
    ("city=M%C3%BCnchen", r#"{city: "München"}"#),
    ("city=München", r#"{city: "München"}"#),
    (
        "pct=100%25&bad=%zz&end=%4",
        r#"{bad: "%zz", end: "%4", pct: "100%"}"#,
    ),
    ("first+name=x", r#"{first name: "x"}"#),
    ("metadata%5Border%5D=7", r#"{metadata: {order: "7"}}"#),
    // Maps.
    ("metadata[order]=7", r#"{metadata: {order: "7"}}"#),
    (
        "metadata[order]=7&metadata[note]=",
        r#"{metadata: {note: "", order: "7"}}"#,
    ),
    (
        "metadata[gift wrap]=yes",
        r#"{metadata: {gift wrap: "yes"}}"#,
    ),
    (
        "a[b][c][d]=1&a[b][e]=2",
        r#"{a: {b: {c: {d: "1"}, e: "2"}}}"#,
    ),
    (
        "a[b][b][b][b][b][b][b][b]=1",
        r#"{a: {b: {b: {b: {b: {b: {b: {b: {b: "1"}}}}}}}}}"#,
    ),
    // Arrays with explicit indexes.
    ("expand[0]=a&expand[1]=b", r#"{expand: ["a", "b"]}"#),
    ("expand[0]=", r#"{expand: [""]}"#),
    (
        "items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2",
        r#"{items: [{price: "p1", quantity: "2"}, {price: "p2"}]}"#,
    ),
    (
        "grid[0][0]=a&grid[0][1]=b&grid[1][0]=c",
        r#"{grid: [["a", "b"], ["c"]]}"#,
    ),
    (
        "items[0][tax_rates][0]=t1&items[0][tax_rates][1]=t2",
        r#"{items: [{tax_rates: ["t1", "t2"]}]}"#,
    ),
    (
        "items[0][tax_rates][]=t1&items[1][tax_rates][]=t2",
        r#"{items: [{tax_rates: ["t1"]}, {tax_rates: ["t2"]}]}"#,
    ),
    // Arrays with empty brackets.
    ("expand[]=a&expand[]=b", r#"{expand: ["a", "b"]}"#),
    ("expand[]=a&expand[]=a", r#"{expand: ["a", "a"]}"#),
    (
        "a[b][]=1&a[b][]=2&a[c]=3",
        r#"{a: {b: ["1", "2"], c: "3"}}"#,
    ),
    // Malformed keys.
    ("=1", "MalformedKey []"),
    ("[x]=1", "MalformedKey [[x]]"),
    ("a[b=1", "MalformedKey [a[b]"),
    ("a]=1", "MalformedKey [a]]"),
    ("a[b]]=1", "MalformedKey [a[b]]]"),
    ("a[b]c=1", "MalformedKey [a[b]c]"),
    ("a[b[c]]=1", "MalformedKey [a[b[c]]]"),
    ("items[][price]=1", "MalformedKey [items[][price]]"),
    ("a[][]=1", "MalformedKey [a[][]]"),
    // Depth.
    (
        "a[b][b][b][b][b][b][b][b][b]=1",
        "TooDeep [a[b][b][b][b][b][b][b][b][b]]",
    ),
    // Index order.
    ("items[1][price]=p", "NonSequentialIndex [items[1][price]]"),
    ("expand[0]=a&expand[2]=b", "NonSequentialIndex [expand[2]]"),
    ("expand[1]=a&expand[0]=b", "NonSequentialIndex [expand[1]]"),
    (
        "items[0][a]=1&items[1][a]=2&items[0][b]=3",
        "NonSequentialIndex [items[0][b]]",
    ),
    (
        "expand[99999999999999999999999]=a",
        "NonSequentialIndex [expand[99999999999999999999999]]",
    ),
    ("grid[0][1]=a", "NonSequentialIndex [grid[0][1]]"),
    // Conflicting types.
    ("a=1&a[b]=2", "ConflictingTypes [a]"),
    ("a[b]=2&a=1", "ConflictingTypes [a]"),
    ("a=1&a[]=2", "ConflictingTypes [a]"),
    ("a[0]=1&a=2", "ConflictingTypes [a]"),
    ("x[]=1&x[0]=2", "ConflictingTypes [x]"),
    ("x[0]=1&x[]=2", "ConflictingTypes [x]"),
    ("x[a]=1&x[0]=2", "ConflictingTypes [x]"),
    ("x[0]=1&x[a]=2", "ConflictingTypes [x]"),
    ("x[a]=1&x[]=2", "ConflictingTypes [x]"),
    (
        "items[0][price]=1&items[0][price][id]=2",
        "ConflictingTypes [items[0][price]]",
    ),
    (
        "items[0]=1&items[0][price]=2",
        "ConflictingTypes [items[0]]",
    ),
    // Duplicates.
    ("a=1&a=2", "DuplicateKey [a]"),
    ("a=&a=", "DuplicateKey [a]"),
    ("m[k]=1&m[k]=2", "DuplicateKey [m[k]]"),
    ("expand[0]=a&expand[0]=b", "DuplicateKey [expand[0]]"),
    (
        "items[0][price]=1&items[0][price]=2",
        "DuplicateKey [items[0][price]]",
    ),
    // Encoding.
    ("%FF=1", "InvalidUtf8 []"),
    ("a=%FF", "InvalidUtf8 [a]"),
    ("a=%C3", "InvalidUtf8 [a]"),
];

#[test]
fn parse_cases() {
    for (input, expected) in PARSE_CASES {
        assert_eq!(parse_outcome(input), *expected, "input: {input}");
    }
}

#[test]
fn raw_bytes_that_are_not_utf8_are_rejected() {
    let error = Params::parse(b"a=\xff").unwrap_err();

    assert_eq!(
        error,
        FormError::InvalidUtf8 {
            key: Some("a".to_owned())
        }
    );
}

#[test]
fn values_from_a_standard_encoder_decode_exactly() {
    let values = ["a b+c", "100% & more = fun", "Zürich ☕", "[x]", ""];
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (index, value) in values.iter().enumerate() {
        serializer.append_pair(&format!("v[{index}]"), value);
    }

    let params = Params::parse(serializer.finish().as_bytes()).unwrap();

    let expected = values
        .iter()
        .map(|value| Value::Scalar((*value).to_owned()));
    assert_eq!(params.get("v"), Some(&Value::List(expected.collect())));
}

const PARSE_MESSAGES: &[(&str, &str)] = &[
    ("a[b=1", "Malformed parameter name 'a[b': a [ is never closed"),
    ("a]=1", "Malformed parameter name 'a]': a ] has no matching ["),
    ("a[b]c=1", "Malformed parameter name 'a[b]c': each nested name must be in its own brackets, as in a[b][c]"),
    ("items[][price]=1", "Malformed parameter name 'items[][price]': [] can only end a parameter name; send arrays of objects with explicit indexes, as in items[0][price]=...&items[1][price]=..."),
    ("a[b][b][b][b][b][b][b][b][b]=1", "Parameter a[b][b][b][b][b][b][b][b][b] nests deeper than 8 levels"),
    ("expand[1]=a", "Invalid array index in expand[1]: indexes start at 0 and go up by one, and all fields of an element come before the next element"),
    ("a=1&a[b]=2", "Conflicting types for a: send it as a single value (a=...), an object (a[name]=...) or an array (a[]=... or a[0]=...), in one form only"),
    ("m[k]=1&m[k]=2", "Duplicate parameter m[k]: send each parameter once"),
    ("a=%FF", "Invalid encoding: the value of a is not UTF-8 once decoded"),
    ("%FF=1", "Invalid encoding: parameters must be UTF-8 once percent-decoded"),
];

#[test]
fn parse_messages_name_the_key() {
    for (input, expected) in PARSE_MESSAGES {
        let error = Params::parse(input.as_bytes()).unwrap_err();

        assert_eq!(error.to_string(), *expected, "input: {input}");
        assert_eq!(error.code(), "parameter_invalid", "input: {input}");
    }
}

#[test]
fn params_accessors() {
    let mut params = Params::parse(b"expand[]=a&type=custom").unwrap();

    assert_eq!(params.keys().collect::<Vec<_>>(), ["expand", "type"]);
    assert_eq!(params.get("type").and_then(Value::as_str), Some("custom"));
    assert!(params.remove("expand").is_some());
    assert!(params.remove("type").is_some());
    assert!(params.is_empty());
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Custom,
    Express,
    Standard,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct BusinessProfile {
    name: String,
    url: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    price: String,
    quantity: i64,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountParams {
    #[serde(rename = "type")]
    kind: Kind,
    country: Option<String>,
    #[serde(default)]
    email: Update<String>,
    business_profile: Option<BusinessProfile>,
    #[serde(default)]
    metadata: Update<BTreeMap<String, String>>,
    #[serde(default)]
    expand: Vec<String>,
    #[serde(default)]
    items: Vec<Item>,
    tos_accepted: Option<bool>,
    amount: Option<i64>,
    ratio: Option<f64>,
    initial: Option<char>,
}

fn custom() -> AccountParams {
    AccountParams {
        kind: Kind::Custom,
        country: None,
        email: Update::Keep,
        business_profile: None,
        metadata: Update::Keep,
        expand: Vec::new(),
        items: Vec::new(),
        tos_accepted: None,
        amount: None,
        ratio: None,
        initial: None,
    }
}

fn profile(name: &str, url: Option<&str>) -> Option<BusinessProfile> {
    Some(BusinessProfile {
        name: name.to_owned(),
        url: url.map(str::to_owned),
    })
}

fn item(price: &str, quantity: i64) -> Item {
    Item {
        price: price.to_owned(),
        quantity,
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

fn read(input: &str) -> Result<AccountParams, FormError> {
    let params = Params::parse(input.as_bytes())?;

    from_params(&params)
}

#[test]
fn deserialize_cases() {
    let metadata = BTreeMap::from([
        ("note".to_owned(), String::new()),
        ("order".to_owned(), "7".to_owned()),
    ]);
    let cases = [
        ("type=custom", custom()),
        ("type=express", AccountParams { kind: Kind::Express, ..custom() }),
        ("type=standard&country=US", AccountParams { kind: Kind::Standard, country: Some("US".to_owned()), ..custom() }),
        ("type=custom&country=", custom()),
        ("type=custom&email=jenny%40example.com", AccountParams { email: Update::Set("jenny@example.com".to_owned()), ..custom() }),
        ("type=custom&email=", AccountParams { email: Update::Clear, ..custom() }),
        ("type=custom&business_profile[name]=Acme", AccountParams { business_profile: profile("Acme", None), ..custom() }),
        ("type=custom&business_profile[name]=Acme&business_profile[url]=", AccountParams { business_profile: profile("Acme", None), ..custom() }),
        ("type=custom&business_profile[name]=&business_profile[url]=a.test", AccountParams { business_profile: profile("", Some("a.test")), ..custom() }),
        ("type=custom&business_profile=", custom()),
        ("type=custom&metadata=", AccountParams { metadata: Update::Clear, ..custom() }),
        ("type=custom&metadata[order]=7&metadata[note]=", AccountParams { metadata: Update::Set(metadata.clone()), ..custom() }),
        ("type=custom&expand[]=a&expand[]=b", AccountParams { expand: strings(&["a", "b"]), ..custom() }),
        ("type=custom&expand[0]=a&expand[1]=b", AccountParams { expand: strings(&["a", "b"]), ..custom() }),
        ("type=custom&expand=", custom()),
        ("type=custom&items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2&items[1][quantity]=-1", AccountParams { items: vec![item("p1", 2), item("p2", -1)], ..custom() }),
        ("type=custom&tos_accepted=TRUE", AccountParams { tos_accepted: Some(true), ..custom() }),
        ("type=custom&tos_accepted=false", AccountParams { tos_accepted: Some(false), ..custom() }),
        ("type=custom&tos_accepted=", custom()),
        ("type=custom&amount=-42", AccountParams { amount: Some(-42), ..custom() }),
        ("type=custom&ratio=0.25", AccountParams { ratio: Some(0.25), ..custom() }),
        ("type=custom&initial=%C3%BC", AccountParams { initial: Some('ü'), ..custom() }),
    ];

    for (input, expected) in cases {
        assert_eq!(read(input), Ok(expected), "input: {input}");
    }
}

/// `Variant [param] code: message`.
fn error_outcome(input: &str) -> String {
    match read(input) {
        Ok(params) => format!("unexpected success: {params:?}"),
        Err(error) => format!("{} {}: {error}", describe(&error), error.code()),
    }
}

const DESERIALIZE_ERRORS: &[(&str, &str)] = &[
    // Missing and unknown params.
    ("", "MissingParameter [type] parameter_missing: Missing required param: type."),
    ("type=custom&business_profile[url]=a.test", "MissingParameter [business_profile[name]] parameter_missing: Missing required param: business_profile[name]."),
    ("type=custom&items[0][price]=p1&items[0][quantity]=1&items[1][quantity]=2", "MissingParameter [items[1][price]] parameter_missing: Missing required param: items[1][price]."),
    ("type=custom&nickname=x", "UnknownParameter [nickname] parameter_unknown: Received unknown parameter: nickname"),
    ("type=custom&nickname[first]=x", "UnknownParameter [nickname] parameter_unknown: Received unknown parameter: nickname"),
    ("type=custom&business_profile[nmae]=x", "UnknownParameter [business_profile[nmae]] parameter_unknown: Received unknown parameter: business_profile[nmae]"),
    ("type=custom&items[0][price]=p&items[0][quantity]=1&items[0][qty]=1", "UnknownParameter [items[0][qty]] parameter_unknown: Received unknown parameter: items[0][qty]"),
    // Values that do not parse.
    ("type=custom&amount=abc", "InvalidValue [amount] parameter_invalid_integer: Invalid integer: abc"),
    ("type=custom&amount=12.5", "InvalidValue [amount] parameter_invalid_integer: Invalid integer: 12.5"),
    ("type=custom&items[0][price]=p&items[0][quantity]=two", "InvalidValue [items[0][quantity]] parameter_invalid_integer: Invalid integer: two"),
    ("type=custom&items[0][price]=p&items[0][quantity]=", "InvalidValue [items[0][quantity]] parameter_invalid_empty: Invalid items[0][quantity]: an empty value unsets a parameter, but items[0][quantity] cannot be unset; leave it out or send a value"),
    ("type=custom&ratio=inf", "InvalidValue [ratio] parameter_invalid: Invalid decimal: inf"),
    ("type=custom&tos_accepted=yes", "InvalidValue [tos_accepted] parameter_invalid: Invalid boolean: yes"),
    ("type=custom&initial=ab", "InvalidValue [initial] parameter_invalid: Invalid character: ab"),
    ("type=platinum", "InvalidValue [type] parameter_invalid: Invalid type: must be one of custom, express, standard"),
    ("type=Custom", "InvalidValue [type] parameter_invalid: Invalid type: must be one of custom, express, standard"),
    ("type=", "InvalidValue [type] parameter_invalid_empty: Invalid type: an empty value unsets a parameter, but type cannot be unset; leave it out or send a value"),
    // Params sent in the wrong form.
    ("type[a]=custom", "InvalidType [type] parameter_invalid: Invalid value: type must be a single value (type=...), not an object or array"),
    ("type=custom&expand=a", "InvalidType [expand] parameter_invalid: Invalid array: expand must be sent as expand[]=... or expand[0]=..."),
    ("type=custom&expand[0][a]=b", "InvalidType [expand[0]] parameter_invalid: Invalid value: expand[0] must be a single value (expand[0]=...), not an object or array"),
    ("type=custom&items[x][price]=p", "InvalidType [items] parameter_invalid: Invalid array: items must be sent as items[]=... or items[0]=..."),
    ("type=custom&items[0]=p", "InvalidType [items[0]] parameter_invalid: Invalid object: items[0] must be sent as items[0][name]=..."),
    ("type=custom&business_profile=Acme", "InvalidType [business_profile] parameter_invalid: Invalid object: business_profile must be sent as business_profile[name]=..."),
    ("type=custom&email[a]=b", "InvalidType [email] parameter_invalid: Invalid value: email must be a single value (email=...), not an object or array"),
    ("type=custom&metadata[a][b]=c", "InvalidType [metadata[a]] parameter_invalid: Invalid value: metadata[a] must be a single value (metadata[a]=...), not an object or array"),
    ("type=custom&metadata[]=c", "InvalidType [metadata] parameter_invalid: Invalid object: metadata must be sent as metadata[name]=..."),
];

#[test]
fn deserialize_errors() {
    for (input, expected) in DESERIALIZE_ERRORS {
        assert_eq!(error_outcome(input), *expected, "input: {input}");
    }
}

#[test]
fn custom_errors_from_types_are_located() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Page {
        #[serde(deserialize_with = "positive")]
        limit: i64,
    }

    fn positive<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let limit = i64::deserialize(deserializer)?;
        match limit {
            1.. => Ok(limit),
            _ => Err(serde::de::Error::custom("must be greater than 0")),
        }
    }

    let read_page = |input: &str| from_params::<Page>(&Params::parse(input.as_bytes()).unwrap());

    assert_eq!(read_page("limit=3"), Ok(Page { limit: 3 }));

    let error = read_page("limit=0").unwrap_err();
    assert_eq!(error.param().as_deref(), Some("limit"));
    assert_eq!(error.to_string(), "Invalid limit: must be greater than 0");
}

#[test]
fn update_helpers() {
    let cases = [
        (Update::Keep, Some(1), Some(1)),
        (Update::Clear, Some(1), None),
        (Update::Set(2), Some(1), Some(2)),
        (Update::Set(2), None, Some(2)),
    ];

    for (update, current, expected) in cases {
        assert_eq!(update.as_set().copied(), update.into_set());
        assert_eq!(update.apply(current), expected, "{update:?} on {current:?}");
    }

    assert!(Update::<i64>::default().is_keep());
    assert!(Update::<i64>::Clear.is_clear());
}
