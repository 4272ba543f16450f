//! The API's resources, one module each. Handlers are thin: they read typed
//! parameters, call the store, and render Stripe-shaped JSON.

pub mod accounts;
pub mod events;
pub mod files;
pub mod health;
pub mod webhook_endpoints;
