//! Types that every Mercato crate shares: typed, prefixed object ids, the
//! server configuration and the clock.
//!
//! Nothing here knows about HTTP or SQL; the crates above depend on this one,
//! never the other way round.

pub mod config;
pub mod ids;
pub mod secrets;
pub mod time;

pub use config::{Config, ConfigError, LogFormat};
