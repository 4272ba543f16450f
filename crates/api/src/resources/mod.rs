//! The API's resources, one module each. Handlers are thin: they read typed
//! parameters, call the store, and render Stripe-shaped JSON.

pub mod accounts;
pub mod catalog_products;
pub mod events;
pub mod files;
pub mod health;
pub mod import_sets;
pub mod webhook_endpoints;
