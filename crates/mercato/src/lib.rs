//! The `mercato` program as a library: starting the server (used by `main`
//! and by the integration tests, which run the real server on port 0) and
//! the operator's commands.

pub mod keys_command;
pub mod logging;
pub mod server;
