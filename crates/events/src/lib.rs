//! Events after they are recorded: how they look on the wire, how webhook
//! payloads are signed (exactly as Stripe signs them, so the official SDKs
//! verify them), and the workers that deliver them with retries.
//!
//! Recording an event is the store's job (`mercato_store::events::record`),
//! inside the transaction of the change it reports; this crate takes over
//! from the delivery jobs that recording enqueued.

pub mod deliver;
pub mod outbound;
pub mod render;
pub mod retry;
pub mod signing;
pub mod worker;

pub use worker::{DeliverySettings, DeliveryWorker};
