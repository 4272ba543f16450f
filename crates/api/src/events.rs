//! Emitting events from handlers: the caller's account, mode and request
//! fill in the event, and `previous_attributes` is computed from the object
//! before and after the change.

use mercato_store::accounts::Account;
use mercato_store::events::{self, Event, NewEvent};
use mercato_store::{StoreError, WriteTx};
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::observe::API_VERSION;

/// Records an event about `object`, which belongs to `owner`, in `tx`: the
/// transaction of the change.
pub async fn emit(
    tx: &mut WriteTx,
    caller: &Caller,
    owner: &Account,
    event_type: &str,
    object: Value,
    previous_attributes: Option<Value>,
) -> Result<Event, StoreError> {
    let new_event = NewEvent {
        account_id: owner.id.clone(),
        platform_id: owner.platform_id.clone(),
        livemode: caller.livemode,
        event_type: event_type.to_owned(),
        object,
        previous_attributes,
        request: caller.request.clone(),
    };
    events::record(tx, new_event, API_VERSION).await
}

/// The old values of what changed between `before` and `after`: nested
/// objects are compared key by key, a key that did not exist before is
/// `null`. `None` when nothing changed.
pub fn previous_attributes(before: &Value, after: &Value) -> Option<Value> {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return (before != after).then(|| before.clone());
    };
    let mut changed = Map::new();
    for (key, new_value) in after {
        let old_value = before.get(key).unwrap_or(&Value::Null);
        if old_value == new_value {
            continue;
        }
        let nested = match (old_value, new_value) {
            (Value::Object(_), Value::Object(_)) => previous_attributes(old_value, new_value),
            _ => Some(old_value.clone()),
        };
        if let Some(value) = nested {
            changed.insert(key.clone(), value);
        }
    }
    for (key, old_value) in before {
        if !after.contains_key(key) {
            changed.insert(key.clone(), old_value.clone());
        }
    }
    (!changed.is_empty()).then_some(Value::Object(changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn previous_attributes_hold_only_what_changed() {
        let cases = [
            (
                json!({"a": 1, "b": 2}),
                json!({"a": 1, "b": 3}),
                Some(json!({"b": 2})),
            ),
            (
                json!({"metadata": {"x": "1"}}),
                json!({"metadata": {"x": "1", "y": "2"}}),
                Some(json!({"metadata": {"y": null}})),
            ),
            (
                json!({"metadata": {"x": "1"}}),
                json!({"metadata": {}}),
                Some(json!({"metadata": {"x": "1"}})),
            ),
            (
                json!({"email": null}),
                json!({"email": "a@b.co"}),
                Some(json!({"email": null})),
            ),
            (json!({"a": 1}), json!({"a": 1}), None),
        ];
        for (before, after, expected) in cases {
            assert_eq!(
                previous_attributes(&before, &after),
                expected,
                "{before} -> {after}"
            );
        }
    }
}
