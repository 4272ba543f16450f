//! Parsing of form bodies and query strings with bracketed keys into a tree of [`Value`]s.
//!
//! Each `key=value` pair is percent-decoded (`+` is a space), its key is split into a name
//! and bracketed segments, and the value is placed in the tree. Placement is strict so that
//! a handler never sees a guess: a value may be sent once, array indexes come in order, and
//! one name keeps one form.
//!
//! The tree is built from [`Node`]s rather than [`Value`]s because a list must remember
//! whether `name[]` or `name[0]` built it: mixing the two styles is rejected.

use std::collections::BTreeMap;

use super::{child_path, FormError, Value, MAX_DEPTH};

const EMPTY_KEY: &str = "the parameter name is empty";
const EMPTY_NAME: &str = "the name before the first [ is empty";
const UNCLOSED: &str = "a [ is never closed";
const STRAY_CLOSE: &str = "a ] has no matching [";
const OPEN_INSIDE: &str = "a [ appears inside brackets";
const TEXT_AFTER: &str = "each nested name must be in its own brackets, as in a[b][c]";
const APPEND_NOT_LAST: &str = "[] can only end a parameter name; send arrays of objects with \
                               explicit indexes, as in items[0][price]=...&items[1][price]=...";

/// One bracketed part of a key after its top-level name.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// `[name]`: an entry of a map.
    Name(String),
    /// `[7]`: an element of an indexed array.
    Index(usize),
    /// `[]`: the next element of a list of scalars.
    Append,
}

/// A decoded key: the text as sent, for error messages, and its parts.
struct Key {
    text: String,
    name: String,
    segments: Vec<Segment>,
}

/// The tree under construction.
enum Node {
    Scalar(String),
    Map(BTreeMap<String, Node>),
    /// Built by `name[0]`, `name[1]`, ...: elements may be maps or lists.
    Indexed(Vec<Node>),
    /// Built by `name[]`: elements are always scalars.
    Appended(Vec<String>),
}

/// Parses a whole body or query string into its top-level map.
pub(super) fn parse(input: &[u8]) -> Result<BTreeMap<String, Value>, FormError> {
    let mut root = BTreeMap::new();

    for pair in input
        .split(|&byte| byte == b'&')
        .filter(|pair| !pair.is_empty())
    {
        let (text, value) = decode_pair(pair)?;
        let key = parse_key(text)?;
        insert_into_map(&mut root, &key.name, &key.segments, &key, value)?;
    }

    Ok(root
        .into_iter()
        .map(|(name, node)| (name, node.into_value()))
        .collect())
}

fn decode_pair(pair: &[u8]) -> Result<(String, String), FormError> {
    let (raw_key, raw_value) = match pair.iter().position(|&byte| byte == b'=') {
        Some(at) => (&pair[..at], &pair[at + 1..]),
        None => (pair, &[][..]),
    };

    let key = String::from_utf8(percent_decode(raw_key))
        .map_err(|_| FormError::InvalidUtf8 { key: None })?;
    let value =
        String::from_utf8(percent_decode(raw_value)).map_err(|_| FormError::InvalidUtf8 {
            key: Some(key.clone()),
        })?;

    Ok((key, value))
}

/// Decodes `+` to a space and `%XX` to its byte; a `%` without two hex digits stays as is.
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut rest = raw;

    while let Some((&byte, tail)) = rest.split_first() {
        let (output, remaining) = match byte {
            b'+' => (b' ', tail),
            b'%' => hex_pair(tail).map_or((byte, tail), |escaped| (escaped, &tail[2..])),
            _ => (byte, tail),
        };
        decoded.push(output);
        rest = remaining;
    }

    decoded
}

fn hex_pair(bytes: &[u8]) -> Option<u8> {
    let [high, low, ..] = bytes else {
        return None;
    };

    Some(hex_digit(*high)? * 16 + hex_digit(*low)?)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn parse_key(text: String) -> Result<Key, FormError> {
    let name_end = text.find('[').unwrap_or(text.len());
    let (name, mut rest) = text.split_at(name_end);

    if let Some(reason) = name_problem(&text, name) {
        return Err(malformed(&text, reason));
    }

    let mut segments = Vec::new();
    while !rest.is_empty() {
        let (segment, after) = next_segment(rest).map_err(|reason| malformed(&text, reason))?;
        check_segment_fits(&text, &segments)?;
        segments.push(segment);
        rest = after;
    }

    let name = name.to_owned();
    Ok(Key {
        text,
        name,
        segments,
    })
}

fn name_problem(text: &str, name: &str) -> Option<&'static str> {
    if text.is_empty() {
        Some(EMPTY_KEY)
    } else if name.is_empty() {
        Some(EMPTY_NAME)
    } else if name.contains(']') {
        Some(STRAY_CLOSE)
    } else {
        None
    }
}

/// Splits `[segment]` off the front of `rest`, or says what is wrong with it.
fn next_segment(rest: &str) -> Result<(Segment, &str), &'static str> {
    let Some(inside) = rest.strip_prefix('[') else {
        let reason = if rest.starts_with(']') {
            STRAY_CLOSE
        } else {
            TEXT_AFTER
        };
        return Err(reason);
    };

    let close = inside.find(']').ok_or(UNCLOSED)?;
    let (segment, after) = (&inside[..close], &inside[close + 1..]);
    if segment.contains('[') {
        return Err(OPEN_INSIDE);
    }

    Ok((parse_segment(segment), after))
}

// FIXME(numeric map keys): a segment of digits is always an index, so a map keyed by numbers
// (`metadata[42]=x`) is read as a list and fails as a non-sequential index.
fn parse_segment(segment: &str) -> Segment {
    if segment.is_empty() {
        Segment::Append
    } else if segment.bytes().all(|byte| byte.is_ascii_digit()) {
        // An index too large for usize can never be in sequence; MAX keeps it failing there.
        Segment::Index(segment.parse().unwrap_or(usize::MAX))
    } else {
        Segment::Name(segment.to_owned())
    }
}

/// Checks that one more segment may follow `segments`.
fn check_segment_fits(text: &str, segments: &[Segment]) -> Result<(), FormError> {
    if segments.last() == Some(&Segment::Append) {
        return Err(malformed(text, APPEND_NOT_LAST));
    }

    if segments.len() == MAX_DEPTH {
        return Err(FormError::TooDeep {
            key: text.to_owned(),
        });
    }

    Ok(())
}

fn malformed(text: &str, reason: &'static str) -> FormError {
    FormError::MalformedKey {
        key: text.to_owned(),
        reason,
    }
}

/// Places `value` at `name` followed by `rest` in `map`.
fn insert_into_map(
    map: &mut BTreeMap<String, Node>,
    name: &str,
    rest: &[Segment],
    key: &Key,
    value: String,
) -> Result<(), FormError> {
    match map.get_mut(name) {
        Some(child) => insert(child, rest, key, value),
        None => {
            map.insert(name.to_owned(), fresh(rest, key, value)?);
            Ok(())
        }
    }
}

/// Places `value` at `rest` below an existing `node`.
fn insert(node: &mut Node, rest: &[Segment], key: &Key, value: String) -> Result<(), FormError> {
    let Some((segment, deeper)) = rest.split_first() else {
        return Err(match node {
            Node::Scalar(_) => FormError::DuplicateKey {
                key: key.text.clone(),
            },
            Node::Map(_) | Node::Indexed(_) | Node::Appended(_) => key.conflict(rest),
        });
    };

    match (node, segment) {
        (Node::Map(map), Segment::Name(name)) => insert_into_map(map, name, deeper, key, value),
        (Node::Indexed(list), Segment::Index(index)) => {
            insert_into_list(list, *index, deeper, key, value)
        }
        (Node::Appended(list), Segment::Append) => {
            list.push(value);
            Ok(())
        }
        _ => Err(key.conflict(rest)),
    }
}

/// Places `value` at element `index` of an indexed array, continuing its last element or
/// starting the next one.
fn insert_into_list(
    list: &mut Vec<Node>,
    index: usize,
    rest: &[Segment],
    key: &Key,
    value: String,
) -> Result<(), FormError> {
    if index == list.len() {
        list.push(fresh(rest, key, value)?);
        return Ok(());
    }

    let last_index = list.len().checked_sub(1);
    match list.last_mut() {
        Some(last) if last_index == Some(index) => insert(last, rest, key, value),
        _ => Err(key.non_sequential()),
    }
}

/// Builds the nodes for `rest` where nothing exists yet.
fn fresh(rest: &[Segment], key: &Key, value: String) -> Result<Node, FormError> {
    let Some((segment, deeper)) = rest.split_first() else {
        return Ok(Node::Scalar(value));
    };

    let node = match segment {
        Segment::Name(name) => {
            Node::Map(BTreeMap::from([(name.clone(), fresh(deeper, key, value)?)]))
        }
        Segment::Index(0) => Node::Indexed(vec![fresh(deeper, key, value)?]),
        Segment::Index(_) => return Err(key.non_sequential()),
        Segment::Append => Node::Appended(vec![value]),
    };

    Ok(node)
}

impl Key {
    /// A conflict at the node that `rest` continues from.
    fn conflict(&self, rest: &[Segment]) -> FormError {
        let reached = &self.segments[..self.segments.len() - rest.len()];
        let key = reached.iter().fold(self.name.clone(), |path, segment| {
            child_path(&path, &segment.to_string())
        });

        FormError::ConflictingTypes { key }
    }

    fn non_sequential(&self) -> FormError {
        FormError::NonSequentialIndex {
            key: self.text.clone(),
        }
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Segment::Name(name) => formatter.write_str(name),
            Segment::Index(index) => write!(formatter, "{index}"),
            Segment::Append => Ok(()),
        }
    }
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Scalar(text) => Value::Scalar(text),
            Node::Map(map) => Value::Map(
                map.into_iter()
                    .map(|(name, node)| (name, node.into_value()))
                    .collect(),
            ),
            Node::Indexed(list) => Value::List(list.into_iter().map(Node::into_value).collect()),
            Node::Appended(list) => Value::List(list.into_iter().map(Value::Scalar).collect()),
        }
    }
}
