//! The JSON of events, webhook endpoints and delivery attempts, in Stripe's
//! shapes. Shared by the API (which lists them) and the workers (which send
//! events).

use mercato_store::events::Event;
use mercato_store::webhooks::{Attempt, WebhookEndpoint};
use serde_json::{json, Map, Value};

/// Stripe's Event object. `account` is present for a connected account's
/// events, as Connect webhooks carry it.
pub fn event(event: &Event) -> Value {
    let mut data = Map::new();
    data.insert("object".into(), event.object.clone());
    if let Some(previous) = &event.previous_attributes {
        data.insert("previous_attributes".into(), previous.clone());
    }
    let mut rendered = json!({
        "id": event.id,
        "object": "event",
        "api_version": event.api_version,
        "created": event.created,
        "data": data,
        "livemode": event.livemode,
        "pending_webhooks": event.pending_webhooks,
        "request": {
            "id": event.request.id,
            "idempotency_key": event.request.idempotency_key,
        },
        "type": event.event_type,
    });
    if event.platform_id.is_some() {
        rendered["account"] = json!(event.account_id);
    }
    rendered
}

/// Stripe's WebhookEndpoint object; `secret` only when given (at creation).
pub fn endpoint(endpoint: &WebhookEndpoint, secret: Option<&str>) -> Value {
    let mut rendered = json!({
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "api_version": endpoint.api_version,
        "application": null,
        "connect": endpoint.connect,
        "created": endpoint.created,
        "description": endpoint.description,
        "enabled_events": endpoint.enabled_events,
        "livemode": endpoint.livemode,
        "metadata": endpoint.metadata,
        "status": endpoint.status,
        "url": endpoint.url,
    });
    if let Some(reason) = &endpoint.disabled_reason {
        rendered["disabled_reason"] = json!(reason);
    }
    if let Some(secret) = secret {
        rendered["secret"] = json!(secret);
    }
    rendered
}

/// A delivery attempt (an extension; Stripe shows these only in its
/// dashboard).
pub fn attempt(attempt: &Attempt) -> Value {
    json!({
        "id": attempt.id,
        "object": "webhook_endpoint.attempt",
        "created": attempt.created,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "event": attempt.event_id,
        "response_body_head": attempt.response_head,
        "status_code": attempt.status_code,
        "succeeded": attempt.succeeded,
        "webhook_endpoint": attempt.endpoint_id,
    })
}
