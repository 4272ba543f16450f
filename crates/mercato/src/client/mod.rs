//! The client commands: `mercato listen`, `mercato trigger` and
//! `mercato import` talk to a running server over its public API, with an
//! API key, exactly as a platform's own code would. Nothing here touches the
//! store. `mercato gen-catalog` makes the catalog files they import.
//!
//! The API base and key come from `--api-base` and `--api-key`, or from
//! `MERCATO_API_BASE` and `MERCATO_API_KEY`; the base defaults to
//! [`api::DEFAULT_API_BASE`].

pub mod api;
pub mod catalog_faults;
mod catalog_rows;
mod catalog_words;
pub mod clock;
pub mod gen_catalog;
pub mod import;
pub mod import_progress;
pub mod listen;
pub mod seeded_random;
pub mod sse;
pub mod trigger;
