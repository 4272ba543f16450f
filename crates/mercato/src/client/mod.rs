//! The client commands: `mercato listen` and `mercato trigger` talk to a
//! running server over its public API, with an API key, exactly as a
//! platform's own code would. Nothing here touches the store.
//!
//! The API base and key come from `--api-base` and `--api-key`, or from
//! `MERCATO_API_BASE` and `MERCATO_API_KEY`; the base defaults to
//! [`api::DEFAULT_API_BASE`].

pub mod api;
pub mod clock;
pub mod listen;
pub mod sse;
pub mod trigger;
