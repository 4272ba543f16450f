//! Webhook delivery as a receiver sees it: signatures, retries, faults, secret rolls, the events API.
