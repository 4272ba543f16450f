//! `expand[]`: which linked objects to inline in a response.
//!
//! Paths are dotted (`latest_charge.customer`), at most four levels deep; in
//! list responses they may start with `data.`. Each resource says which
//! top-level fields it can expand; any other path is refused, as Stripe does.

use serde::Deserialize;

use crate::error::ApiError;
use crate::params::FormParams;

/// The most levels one expand path may have.
const MAX_EXPAND_DEPTH: usize = 4;

/// Validated expand paths, without any `data.` prefix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expand {
    paths: Vec<String>,
}

impl Expand {
    /// Checks the paths of a request; `in_list` strips the `data.` prefix.
    pub fn parse(paths: Vec<String>, in_list: bool) -> Result<Self, ApiError> {
        let mut normalized = Vec::with_capacity(paths.len());
        for path in paths {
            let path = match (in_list, path.strip_prefix("data.")) {
                (true, Some(rest)) => rest.to_owned(),
                _ => path,
            };
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(ApiError::invalid_param(
                    "expand",
                    format!("Invalid expand path: '{path}'"),
                ));
            }
            if path.split('.').count() > MAX_EXPAND_DEPTH {
                return Err(ApiError::invalid_param(
                    "expand",
                    format!("You cannot expand more than 4 levels of a property. Property: {path}"),
                ));
            }
            normalized.push(path);
        }
        Ok(Self { paths: normalized })
    }

    /// Refuses every path whose first field is not in `expandable`.
    pub fn ensure_only(&self, expandable: &[&str]) -> Result<(), ApiError> {
        for path in &self.paths {
            let head = path.split('.').next().unwrap_or_default();
            if !expandable.contains(&head) {
                return Err(ApiError::invalid_param(
                    "expand",
                    format!("This property cannot be expanded ({path})."),
                ));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// The parameters of a retrieve or a list tail whose only option is
/// `expand`, on an object with nothing to expand.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpandOnly {
    expand: Option<Vec<String>>,
}

/// Refuses every expand path: the object has no expandable field.
pub fn refuse_expansion(paths: Option<Vec<String>>) -> Result<(), ApiError> {
    Expand::parse(paths.unwrap_or_default(), false)?.ensure_only(&[])
}

impl FormParams {
    /// Checks that the request carries no parameter but a (refused) `expand`.
    pub fn expect_no_options(self) -> Result<(), ApiError> {
        let params: ExpandOnly = self.into_typed()?;
        refuse_expansion(params.expand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked_for_depth_shape_and_expandability() {
        type Case<'a> = (&'a [&'a str], bool, &'a [&'a str], Option<&'a str>);
        let cases: [Case; 6] = [
            (&["latest_charge"], false, &["latest_charge"], None),
            (&["data.latest_charge"], true, &["latest_charge"], None),
            (&["a.b.c.d"], false, &["a"], None),
            (&["a.b.c.d.e"], false, &["a"], Some("more than 4 levels")),
            (&["a..b"], false, &["a"], Some("Invalid expand path")),
            (&["owner"], false, &[], Some("cannot be expanded (owner)")),
        ];
        for (paths, in_list, expandable, expected_error) in cases {
            let paths = paths.iter().map(|path| (*path).to_owned()).collect();
            let outcome =
                Expand::parse(paths, in_list).and_then(|expand| expand.ensure_only(expandable));
            match (outcome, expected_error) {
                (Ok(()), None) => {}
                (Err(error), Some(fragment)) => {
                    assert!(error.message.contains(fragment), "{}", error.message)
                }
                (outcome, expected) => panic!("{outcome:?} but expected {expected:?}"),
            }
        }
    }
}
